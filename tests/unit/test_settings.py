from pathlib import Path

import pytest

from proxy.settings import ConfigError, load_settings, parse_settings

MINIMAL = """
services:
  demo/World:                       # served at /arcgis/rest/services/demo/World/MapServer
    type: MapServer
    backend:
      url: "http://127.0.0.1:8081/ows"   # the OGC endpoint
      flavor: mapserver                  # mapserver | qgis | geoserver | generic
    layers: [regions, cities, rgb]  # optional
"""


def test_minimal_config_from_the_issue(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(MINIMAL)
    settings = load_settings(path)
    service = settings.services["demo/world"]
    assert service.name == "demo/World" and service.folder == "demo" and service.short_name == "World"
    assert service.backend.url == "http://127.0.0.1:8081/ows"
    assert service.backend.flavor == "mapserver"
    assert service.backend.timeout == 30.0
    assert service.layers == ("regions", "cities", "rgb")


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({}, "services", "at least one"),
        ({"services": {"a": {"type": "FeatureServer", "backend": {"url": "http://x/"}}}}, "services.a.type",
         "must be one of"),
        ({"services": {"a": {"type": "MapServer"}}}, "services.a.backend", "required"),
        ({"services": {"a": {"type": "MapServer", "backend": {}}}}, "services.a.backend.url", "required"),
        ({"services": {"a": {"type": "MapServer", "backend": {"url": "ftp://x"}}}}, "services.a.backend.url",
         "http"),
        ({"services": {"a": {"type": "MapServer", "backend": {"url": "http://x/", "flavor": "arcgis"}}}},
         "services.a.backend.flavor", "must be one of"),
        ({"services": {"a": {"type": "MapServer", "backend": {"url": "http://x/", "timeout": "slow"}}}},
         "services.a.backend.timeout", "number"),
        ({"services": {"a": {"type": "MapServer", "backend": {"url": "http://x/", "maxConnections": 0}}}},
         "services.a.backend.maxConnections", "at least"),
        ({"services": {"a": {"type": "MapServer", "backend": {"url": "http://x/"}, "layers": "rgb"}}},
         "services.a.layers", "list"),
        ({"services": {"a": {"type": "MapServer", "backend": {"url": "http://x/"}, "colour": 1}}},
         "services.a.colour", "unknown key"),
        ({"services": {"a/b/c": {"type": "MapServer", "backend": {"url": "http://x/"}}}}, "services.a/b/c",
         "folder/Name"),
        ({"services": {"a": {"type": "ImageServer", "backend": {"url": "http://x/"}}}}, "services.a.coverage",
         "required"),
        ({"services": {"a": {"type": "MapServer", "backend": {"url": "http://x/", "headers": {"X-A": "1\r\nX-B: 2"}}}}},
         "services.a.backend.headers", "line break"),
        ({"services": {"a": {"type": "MapServer", "backend": {"url": "http://x/", "headers": {"Bad Name": "1"}}}}},
         "services.a.backend.headers", "not a valid header name"),
    ],
)
def test_bad_config_names_key_and_problem(data: object, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(data)
    assert info.value.key == key
    assert problem in info.value.problem


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("services: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)


@pytest.mark.parametrize(("order", "top_first"), [(None, None), ("topFirst", True), ("bottomFirst", False)])
def test_capabilities_order(order: str | None, top_first: bool | None) -> None:
    backend: dict[str, str] = {"url": "http://x/", **({"capabilitiesOrder": order} if order else {})}
    settings = parse_settings({"services": {"a": {"type": "MapServer", "backend": backend}}})
    assert settings.services["a"].backend.capabilities_top_first is top_first


def test_capabilities_order_is_one_of_two() -> None:
    with pytest.raises(ConfigError, match="capabilitiesOrder: must be one of topFirst, bottomFirst"):
        parse_settings({"services": {"a": {"type": "MapServer",
                                           "backend": {"url": "http://x/", "capabilitiesOrder": "up"}}}})
