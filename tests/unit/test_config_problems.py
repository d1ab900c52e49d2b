"""Configuration checks (issue 14): every problem at once with its key, and never a traceback for any value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.settings import ConfigError, ConfigErrors, load_settings, parse_settings
from translators.tiles.cut import TILE_FORMATS

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) |
    st.text(max_size=30) | st.sampled_from(["http://x:99999/", "http://[::1/", "EPSG:99999", "webmercator", "1e400",
                                            "redis://", "http://h/ows", "MapServer", "ImageServer", "mapserver"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
SERVICE_KEYS = ["type", "backend", "layers", "hiddenLayers", "spatialReference", "maxImageWidth", "coverage",
                "coverages", "wcsVersion", "cache", "limits", "objectIdField", "maxRecordCount", "tiles"]
BACKEND_KEYS = ["url", "flavor", "version", "timeout", "headers", "capabilitiesOrder", "wfs", "maxConnections"]
TILES_KEYS = ["levels", "format", "metaSize", "metaBuffer", "store", "wmts"]
GRID_KEYS = ["origin", "tileSize", "resolutions", "spatialReference"]


@st.composite
def tiles(draw: st.DrawFn) -> dict[str, Any]:
    """A tiles section whose keys are the real ones (so that the checks behind the grid are reached)."""
    grid = draw(st.just("webmercator") | st.dictionaries(st.sampled_from(GRID_KEYS), VALUES, max_size=4) |
                st.just({"origin": [0, 0], "resolutions": [8, 4, 2], "spatialReference": 3857}))
    return {"grid": grid, **{k: draw(VALUES) for k in draw(st.lists(st.sampled_from(TILES_KEYS), max_size=3))}}


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    backend = {k: draw(VALUES) for k in draw(st.lists(st.sampled_from(BACKEND_KEYS), max_size=4))}
    backend.setdefault("url", draw(st.sampled_from(["http://h/ows", "http://h:0/", "http://h:65536/", "ftp://h/"])))
    service = {k: draw(VALUES) for k in draw(st.lists(st.sampled_from(SERVICE_KEYS), max_size=4))}
    service.setdefault("type", draw(st.sampled_from(["MapServer", "ImageServer"])))
    service["backend"] = backend
    if draw(st.booleans()):
        service["tiles"] = draw(tiles())
    root: dict[str, Any] = {"services": {draw(st.sampled_from(["a/B", "B", "bad name"])): service}}
    for section in draw(st.lists(st.sampled_from(["server", "cache", "admin", "limits"]), max_size=3)):
        root[section] = draw(VALUES)
    return root


@settings(max_examples=200, deadline=None)
@given(configs())
def test_no_value_is_a_traceback(config: dict[str, Any]) -> None:
    try:
        parse_settings(config)
    except ConfigError as exc:
        assert all(p.key and p.problem for p in exc.problems)
        # every value meets a check written for it: the catch-all "invalid value (…)" is never what is reported
        assert not [p for p in exc.problems if p.problem.startswith("invalid value (")], exc.problems


def test_every_problem_at_once() -> None:
    config = {"services": {"a": {"type": "MapServer", "backend": {"url": "http://x:99999/"}},
                           "b": {"type": "Nope", "backend": {"url": "http://x/"}}},
              "server": {"port": 65536}, "cache": {"memory": "lots"}, "admin": {"enabled": "yes"}, "extra": 1}
    with pytest.raises(ConfigErrors) as info:
        parse_settings(config)
    assert [p.key for p in info.value.problems] == [
        "config.extra", "services.a.backend.url", "services.b.type", "cache.memory", "admin.enabled", "server.port"]
    assert str(info.value).count("\n") == 5


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/ows", "http://[::1/ows", "http://:80/ows", "http://h:-1/"])
def test_a_bad_backend_url_is_its_key(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"services": {"a": {"type": "MapServer", "backend": {"url": url}}}})
    assert info.value.key == "services.a.backend.url" and "must be an http(s) URL" in info.value.problem


def problems_of(config: dict[str, Any]) -> list[str]:
    try:
        parse_settings(config)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


@settings(max_examples=150, deadline=None)
@given(configs(), configs())
def test_the_problems_of_two_services_are_those_of_each(one: dict[str, Any], two: dict[str, Any]) -> None:
    # Each service is checked on its own and completely: together they report exactly what each reports alone.
    (name_one, service_one), = one["services"].items()
    (name_two, service_two), = two["services"].items()
    alone_one = problems_of({"services": {f"one{name_one}": service_one}})
    alone_two = problems_of({"services": {f"two{name_two}": service_two}})
    both = problems_of({"services": {f"one{name_one}": service_one, f"two{name_two}": service_two}})
    assert both == alone_one + alone_two


def test_every_key_of_a_service_at_once() -> None:
    config = {"services": {
        "a/One": {"type": "MapServer", "colour": "red", "layers": "rgb", "maxImageWidth": 0, "objectIdField": 3,
                  "backend": {"url": "http://x:99999/", "flavor": "oracle", "timeout": "slow", "wfs": "ftp://w"},
                  "tiles": {"grid": "webmercator", "levels": [0, 40], "metaSize": 99, "format": "gif",
                            "store": {"maxBytes": "x"}, "wmts": {"url": "ftp://"}},
                  "limits": {"maxCells": 0, "maxMemory": "1MB"}},
        "a/Two": {"type": "ImageServer", "backend": {"url": "http://h/"}, "wcsVersion": "3",
                  "coverages": {"2020-13-01": "a", "2021-01-01": ""}},
        "a/two": {"type": "MapServer", "backend": {"url": "http://h/"}},
        "a/Grid": {"type": "MapServer", "backend": {"url": "http://h/"},
                   "tiles": {"grid": {"origin": [0], "resolutions": [1, 2], "tileSize": 3}}}}}
    with pytest.raises(ConfigErrors) as info:
        parse_settings(config)
    keys = [p.key for p in info.value.problems]
    assert keys == [
        "services.a/One.colour", "services.a/One.backend.url", "services.a/One.backend.flavor",
        "services.a/One.backend.wfs", "services.a/One.backend.timeout", "services.a/One.layers",
        "services.a/One.maxImageWidth", "services.a/One.objectIdField", "services.a/One.tiles.levels",
        "services.a/One.tiles.format", "services.a/One.tiles.metaSize", "services.a/One.tiles.store.path",
        "services.a/One.tiles.store.maxBytes", "services.a/One.tiles.wmts.layer", "services.a/One.tiles.wmts.url",
        "services.a/One.limits.maxMemory", "services.a/One.limits.maxCells",
        "services.a/Two.coverages.2020-13-01", "services.a/Two.coverages.2021-01-01", "services.a/Two.wcsVersion",
        "services.a/two",
        "services.a/Grid.tiles.grid.spatialReference", "services.a/Grid.tiles.grid.origin",
        "services.a/Grid.tiles.grid.resolutions", "services.a/Grid.tiles.grid.tileSize"]
    messages = str(info.value).splitlines()
    assert len(messages) == len(keys)
    assert "services.a/One.backend.flavor: must be one of mapserver, qgis, geoserver, generic, got 'oracle'" in messages
    assert "services.a/two: the same name as services.a/Two (service names are not case-sensitive)" in messages


def test_a_list_where_a_choice_is_expected_is_named() -> None:
    assert problems_of({"services": {"a": {"type": "MapServer", "tiles": {"grid": "webmercator", "format": ["png"]},
                                           "backend": {"url": "http://h/", "capabilitiesOrder": {"x": 1}}}}}) == [
        "services.a.backend.capabilitiesOrder: must be one of topFirst, bottomFirst, got {'x': 1}",
        "services.a.tiles.format: must be one of " + ", ".join(TILE_FORMATS) + ", got ['png']"]


def test_dependent_checks_wait_for_their_inputs() -> None:
    # the tiled service's spatial reference is checked against a grid only when the grid was read; an ImageServer
    # without a coverage is reported only when its coverages were read; a bad type does not make tiles "wrong type"
    assert [p.split(":")[0] for p in problems_of({"services": {"a": {
        "type": "MapServer", "backend": {"url": "http://h/"}, "spatialReference": 4326,
        "tiles": {"grid": "nope"}}}})] == ["services.a.tiles.grid"]
    assert [p.split(":")[0] for p in problems_of({"services": {"a": {
        "type": "MapServer", "backend": {"url": "http://h/"}, "spatialReference": 4326,
        "tiles": {"grid": "webmercator", "metaSize": 0}}}})] == ["services.a.tiles.metaSize"]
    assert problems_of({"services": {"a": {"type": "MapServer", "backend": {"url": "http://h/"},
                                           "spatialReference": 4326, "tiles": {"grid": "webmercator"}}}}) == [
        "services.a.spatialReference: must be the tile grid's (3857) for a tiled service"]
    assert [p.split(":")[0] for p in problems_of({"services": {"a": {
        "type": "ImageServer", "backend": {"url": "http://h/"}, "coverages": []}}})] == ["services.a.coverages"]
    assert [p.split(":")[0] for p in problems_of({"services": {"a": {
        "type": "Nope", "backend": {"url": "http://h/"}, "tiles": {"grid": "webmercator", "format": "gif"}}}})] == [
        "services.a.type", "services.a.tiles.format"]


def test_a_date_yaml_cannot_read_is_a_problem_of_its_key(tmp_path: Path) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text("services:\n  a: {type: ImageServer, backend: {url: 'http://h/'},\n"
                    "      coverages: {2020-13-01: x, 2021-01-01: y, 2021-02-01T10:00:00Z: z}}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value) == "services.a.coverages.2020-13-01: is not an ISO 8601 date"
    path.write_text("services:\n  a: {type: ImageServer, backend: {url: 'http://h/'},\n"
                    "      coverages: {2021-02-01T10:00:00Z: z, 2021-01-01: y}}\n")
    assert load_settings(path).services["a"].coverages == (("2021-01-01", "y"), ("2021-02-01T10:00:00Z", "z"))
    path.write_text("services: {a: {type: MapServer, backend: {url: 'http://h/'},\n"
                    "                description: !!timestamp 2020-13-01}}")
    with pytest.raises(ConfigError, match=r"not valid YAML: month must be in 1\.\.12"):
        load_settings(path)


@pytest.mark.parametrize(("url", "why"), [
    ("redis://127.0.0.1:99999/0", "Port out of range"), ("redis+cluster://h:99999", "Port out of range"),
    ("redis+sentinel://a:1,b:x/m", "invalid literal"), ("redis+sentinel://a:1", "names the master"),
    ("redis+sentinel://a:70000/m", "out of range")])
def test_a_redis_url_the_client_would_refuse_is_a_problem(url: str, why: str) -> None:
    # the client refused them at start, a traceback after the configuration had been accepted
    problems = problems_of({"services": {"a": {"type": "MapServer", "backend": {"url": "http://h/"}}},
                            "cache": {"redis": url}})
    assert len(problems) == 1 and problems[0].startswith(f"cache.redis: is not a Redis URL the client can use, got "
                                                         f"{url!r} (") and why in problems[0]
    for good in ("unix:///tmp/x.sock", "rediss://u:p@h:6380/1", "redis+sentinel://a:1,b:2/m/3"):
        assert problems_of({"services": {"a": {"type": "MapServer", "backend": {"url": "http://h/"}}},
                            "cache": {"redis": good}}) == []


def test_the_public_url_is_an_http_url() -> None:
    service = {"a": {"type": "MapServer", "backend": {"url": "http://h/"}}}
    assert problems_of({"services": service, "server": {"publicUrl": "gateway.example.com/arcgis"}}) == [
        "server.publicUrl: must be an http(s) URL, got 'gateway.example.com/arcgis'"]
    assert problems_of({"services": service, "server": {"publicUrl": "https://gateway.example.com/gis"}}) == []
