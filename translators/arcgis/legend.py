"""``…/MapServer/legend``: the request (``size``, ``dpi``, ``dynamicLayers``), the legend entries of a layer, and the
ArcGIS answer (leaf layers only, one entry per class, PNG ``imageData`` and a relative ``url`` per entry).

The ``url`` of an entry is a key derived from its image (an MD5 of the PNG, 32 hex digits as ArcGIS has them);
``…/MapServer/<id>/images/<key>`` serves those bytes.  ``size`` is the patch in pixels at 96 dpi (ArcGIS: "20x20
pixels at 96 DPI"), so the image is ``size * dpi / 96`` pixels, its symbols drawn at ``dpi`` by the backend.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from translators.arcgis.layer_selection import is_empty_json, parse_dynamic_layers
from translators.arcgis.layers import LayerTree, MapLayer
from translators.arcgis.map_context import ServiceContext
from translators.arcgis.mapservice import layer_summary
from translators.arcgis.view import DEFAULT_DPI, parse_dpi, parse_size
from translators.errors import BackendError, InvalidParameter
from translators.ogc.legend import LegendRule
from translators.params import Params

DEFAULT_PATCH = (20, 20)
MAX_PATCH = 1024  # pixels per side of one patch, dpi included: a legend icon, not a map
CONTENT_TYPE = "image/png"


@dataclass(frozen=True)
class LegendRequest:
    """What a legend call asks for: the patch size (pixels at 96 dpi), the resolution and the leaf layers, top
    first."""

    width: int
    height: int
    dpi: float
    layers: tuple[MapLayer, ...]

    @property
    def pixels(self) -> tuple[int, int]:
        """The size of each image in pixels: the patch at ``dpi``."""
        return _scaled(self.width, self.dpi), _scaled(self.height, self.dpi)

    def key_params(self) -> dict[str, str]:
        """The part of a layer's cache key that the request decides."""
        width, height = self.pixels
        return {"SIZE": f"{width},{height}", "DPI": f"{self.dpi:g}"}


def _scaled(value: int, dpi: float) -> int:
    return max(1, round(value * dpi / DEFAULT_DPI))


def parse_legend(params: Params, ctx: ServiceContext) -> LegendRequest:
    """Read ``size``, ``dpi`` and ``dynamicLayers``; a bad value is a 400 naming its parameter."""
    width, height = parse_size(params.get("size")) if params.get("size") is not None else DEFAULT_PATCH
    dpi = parse_dpi(params)
    low, high = ctx.flavor.dpi_range
    if ctx.flavor.legend_dpi_parameter and not low <= dpi <= high:
        raise InvalidParameter("dpi", f"must be between {low:g} and {high:g} with this backend")
    if max(_scaled(width, dpi), _scaled(height, dpi)) > MAX_PATCH:
        raise InvalidParameter("size", f"a legend patch may be at most {MAX_PATCH} pixels wide and high at the "
                                       f"dpi asked for, got {width},{height} at {dpi:g} dpi")
    return LegendRequest(width, height, dpi, tuple(legend_layers(params.get("dynamicLayers"), ctx.tree)))


def legend_layers(dynamic: str | None, tree: LayerTree) -> list[MapLayer]:
    """The leaf layers a legend lists, top first (id order): every requestable leaf, or those of the map layers
    that ``dynamicLayers`` names, in its order (an unknown map layer is a 400)."""
    def leaves(ids: Sequence[int]) -> list[MapLayer]:
        return [layer for i in sorted(ids) if not (layer := tree.by_id[i]).is_group and layer.wms.name]

    if is_empty_json(dynamic):
        return leaves(list(tree.by_id))
    assert dynamic is not None
    order = parse_dynamic_layers(dynamic, tree)[0]
    found: list[MapLayer] = []
    for map_id in order:
        for layer in leaves([map_id, *tree.descendants(map_id)]):
            if layer not in found:
                found.append(layer)
    return found


@dataclass(frozen=True)
class LegendEntry:
    """One entry of a layer's legend: its label, its PNG and that image's size, and the values of its class."""

    label: str
    png: bytes
    width: int
    height: int
    values: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The entry's ``url``: derived from its image, so the same picture has the same key everywhere."""
        return image_key(self.png)


def image_key(png: bytes) -> str:
    """The key of an image (32 hex digits, as ArcGIS's are)."""
    return hashlib.md5(png, usedforsecurity=False).hexdigest()


def blank_patch(size: tuple[int, int], colour: tuple[int, int, int, int] = (0, 0, 0, 0)) -> bytes:
    """A PNG patch of one colour: transparent for a class the backend draws no icon for (a QGIS 3.22 raster, a
    layer without classes), filled for a class that is a colour (a raster colour map entry)."""
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, "PNG", optimize=True)
    return out.getvalue()


def fit_icon(icon: bytes, size: tuple[int, int]) -> bytes:
    """An inline icon on a transparent patch of ``size``: centred, shrunk to fit if larger, never enlarged."""
    png_size(icon)  # a PNG, or a 502
    with Image.open(io.BytesIO(icon)) as source:
        image = source.convert("RGBA")
    image.thumbnail(size, Image.Resampling.LANCZOS)
    patch = Image.new("RGBA", size, (0, 0, 0, 0))
    patch.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    out = io.BytesIO()
    patch.save(out, "PNG", optimize=True)
    return out.getvalue()


def png_size(body: bytes) -> tuple[int, int]:
    """The size of a PNG the backend sent; anything else is a 502."""
    try:
        with Image.open(io.BytesIO(body)) as image:
            if image.format != "PNG":
                raise BackendError(f"The backend sent a {image.format} legend image instead of a PNG.")
            return image.size
    except (OSError, ValueError):
        raise BackendError("The backend's legend image cannot be read.") from None


def build_entries(rules: Sequence[LegendRule], images: Sequence[bytes | None],
                  pixels: tuple[int, int]) -> list[LegendEntry]:
    """The entries of a layer from its rules and the image drawn for each (None: a blank patch).  A layer without
    rules (a raster without classes) gets one entry with an empty label, as a single symbol has in ArcGIS."""
    if not rules:
        return [LegendEntry("", blank_patch(pixels), *pixels)]
    entries = []
    for rule, image in zip(rules, images, strict=True):
        png = image if image is not None else blank_patch(pixels, rule.colour or (0, 0, 0, 0))
        entries.append(LegendEntry(rule.label, png, *png_size(png), rule.values))
    return entries


def whole_image_entry(body: bytes) -> list[LegendEntry]:
    """The one entry of a layer whose backend draws only its whole legend: the picture at its own size."""
    return [LegendEntry("", body, *png_size(body))]


def dump_entries(entries: Sequence[LegendEntry]) -> bytes:
    """A layer's entries as cached bytes."""
    return json.dumps([{"label": e.label, "png": base64.b64encode(e.png).decode("ascii"), "width": e.width,
                        "height": e.height, "values": list(e.values)} for e in entries]).encode()


def load_entries(body: bytes) -> list[LegendEntry]:
    """A layer's entries from cached bytes."""
    return [LegendEntry(e["label"], base64.b64decode(e["png"]), e["width"], e["height"], tuple(e["values"]))
            for e in json.loads(body)]


def _legend_type(entries: Sequence[LegendEntry]) -> str | None:
    if any(e.values for e in entries):
        return "Unique Values"
    return "Single Symbol" if len(entries) == 1 else None


def layer_legend(tree: LayerTree, layer: MapLayer, entries: Sequence[LegendEntry],
                 features: Collection[int] = ()) -> dict[str, Any]:
    """The ``layers[]`` item of one leaf layer (``features``: the ids of the feature layers, typed as the service
    root types them)."""
    summary = layer_summary(tree, layer, features)
    data: dict[str, Any] = {"layerId": layer.id, "layerName": layer.name, "layerType": summary["type"],
                            "minScale": summary["minScale"], "maxScale": summary["maxScale"]}
    legend_type = _legend_type(entries)
    if legend_type is not None:
        data["legendType"] = legend_type
    data["legend"] = [
        {"label": e.label, "url": e.key, "imageData": base64.b64encode(e.png).decode("ascii"),
         "contentType": CONTENT_TYPE, "height": e.height, "width": e.width, "values": list(e.values)}
        for e in entries]
    return data


def legend_html(data: dict[str, Any]) -> str:
    """The legend drawn for the ``f=html`` page: each layer's name, then its entries (image and label)."""
    rows = []
    for layer in data["layers"]:
        rows.append(f"<h3>{html.escape(str(layer['layerName']))} ({layer['layerId']})</h3>")
        rows.extend(f"<div><img alt='' width='{e['width']}' height='{e['height']}' "
                    f"src='data:image/png;base64,{e['imageData']}'> {html.escape(str(e['label']))}</div>"
                    for e in layer["legend"])
    return "".join(rows)


def legend_answer(tree: LayerTree, layers: Sequence[MapLayer], entries: Sequence[Sequence[LegendEntry]],
                  features: Collection[int] = ()) -> dict[str, Any]:
    """The ``…/MapServer/legend`` answer (``features``: the ids of the feature layers)."""
    return {"layers": [layer_legend(tree, layer, found, features)
                       for layer, found in zip(layers, entries, strict=True)]}
