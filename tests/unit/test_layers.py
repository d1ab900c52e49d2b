from pathlib import Path

import pytest

from translators.arcgis.layers import LayerTree
from translators.errors import BackendError, InvalidParameter
from translators.ogc.wms import WmsCapabilities, parse_capabilities

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def caps() -> WmsCapabilities:
    return parse_capabilities((DATA / "wms130-groups.xml").read_bytes(), "1.3.0")


def test_capabilities_model(caps: WmsCapabilities) -> None:
    assert caps.title == "Test map"
    assert caps.access_constraints == "(c) arcbridge tests"
    assert (caps.max_width, caps.max_height) == (2048, 1500)
    assert caps.supports_format("image/svg+xml") and not caps.supports_format("image/gif")
    assert caps.root.crs == ("EPSG:4326", "EPSG:3857", "EPSG:32633")
    regions = caps.layer("regions")
    assert regions is not None
    assert regions.crs == caps.root.crs  # inherited
    assert (regions.min_scale_denominator, regions.max_scale_denominator) == (1000, 50000000)
    temperature = caps.layer("temperature")
    assert temperature is not None and temperature.time is not None
    assert len(temperature.time.values) == 4


def test_default_ids_put_the_top_layer_first(caps: WmsCapabilities) -> None:
    tree = LayerTree.build(caps, None)
    # A MapServer document lists the bottom layer first: ids are given from its end, as ArcGIS numbers the top first.
    assert [(layer.id, layer.name, layer.parent_id, layer.sub_ids) for layer in tree.layers] == [
        (0, "temperature", -1, ()),
        (1, "overlays", -1, (2, 3)),
        (2, "cities", 1, ()),
        (3, "regions", 1, ()),
        (4, "rgb", -1, ()),
    ]
    assert [layer.name for layer in tree.drawn_leaves(tree.select(None))] == ["rgb", "regions", "cities",
                                                                              "temperature"]


def test_top_first_documents_are_numbered_in_document_order(caps: WmsCapabilities) -> None:
    tree = LayerTree.build(caps, None, top_first=True)
    assert [(layer.id, layer.name) for layer in tree.layers] == [
        (0, "rgb"), (1, "overlays"), (2, "regions"), (3, "cities"), (4, "temperature")]


def test_top_first_documents_reverse_drawing_order(caps: WmsCapabilities) -> None:
    tree = LayerTree.build(caps, None, top_first=True)
    assert [layer.name for layer in tree.drawn_leaves(tree.select(None))] == ["temperature", "cities", "regions",
                                                                              "rgb"]


def test_configured_layers_get_ids_in_order_and_draw_first_on_top(caps: WmsCapabilities) -> None:
    tree = LayerTree.build(caps, ["overlays", "rgb"])
    # The group's sub-layers follow it, top first (the MapServer document lists cities above regions).
    assert [(layer.id, layer.name, layer.parent_id) for layer in tree.layers] == [
        (0, "overlays", -1), (1, "rgb", -1), (2, "cities", 0), (3, "regions", 0)]
    assert [layer.name for layer in tree.drawn_leaves(tree.select(None))] == ["rgb", "regions", "cities"]


def test_unknown_configured_layer_is_a_backend_error(caps: WmsCapabilities) -> None:
    with pytest.raises(BackendError, match="nope"):
        LayerTree.build(caps, ["nope"])


@pytest.mark.parametrize(
    ("spec", "drawn"),
    [
        (None, ["rgb", "regions", "cities", "temperature"]),
        ("show:{overlays}", ["regions", "cities"]),  # a group brings its sub-layers
        ("show:{cities}", ["cities"]),
        ("show:{rgb},{cities}", ["rgb", "cities"]),
        ("hide:{overlays}", ["rgb", "temperature"]),  # hiding a group hides its sub-layers
        ("hide:{regions},{temperature}", ["rgb", "cities"]),
        ("exclude:{rgb}", ["regions", "cities", "temperature"]),
        ("SHOW:", []),
    ],
)
def test_layer_selection(caps: WmsCapabilities, spec: str | None, drawn: list[str]) -> None:
    tree = LayerTree.build(caps, None)
    ids = {layer.name: layer.id for layer in tree.layers}
    assert [layer.name for layer in tree.drawn_leaves(tree.select(spec and spec.format(**ids)))] == drawn


def test_include_adds_hidden_layers(caps: WmsCapabilities) -> None:
    tree = LayerTree.build(caps, None, hidden=["temperature", "cities"])
    assert [layer.name for layer in tree.drawn_leaves(tree.select(None))] == ["rgb", "regions"]
    ids = {layer.name: layer.id for layer in tree.layers}
    assert [layer.name for layer in tree.drawn_leaves(tree.select(f"include:{ids['temperature']}"))] == [
        "rgb", "regions", "temperature"]
    # Showing the group brings only the sub-layers that draw by default.
    assert [layer.name for layer in tree.drawn_leaves(tree.select(f"show:{ids['overlays']}"))] == ["regions"]


@pytest.mark.parametrize("spec", ["show:9", "show:a", "visible:1", "1,2", "show:1.5"])
def test_bad_layer_specs(caps: WmsCapabilities, spec: str) -> None:
    tree = LayerTree.build(caps, None)
    with pytest.raises(InvalidParameter) as info:
        tree.select(spec)
    assert info.value.parameter == "layers"
