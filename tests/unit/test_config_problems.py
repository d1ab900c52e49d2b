"""Configuration checks (issue 14): every problem at once with its key, and never a traceback for any value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.settings import ConfigError, ConfigErrors, parse_settings

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) |
    st.text(max_size=30) | st.sampled_from(["http://x:99999/", "http://[::1/", "EPSG:99999", "webmercator", "1e400",
                                            "redis://", "http://h/ows", "MapServer", "ImageServer", "mapserver"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
SERVICE_KEYS = ["type", "backend", "layers", "hiddenLayers", "spatialReference", "maxImageWidth", "coverage",
                "coverages", "wcsVersion", "cache", "limits", "objectIdField", "maxRecordCount", "tiles"]
BACKEND_KEYS = ["url", "flavor", "version", "timeout", "headers", "capabilitiesOrder", "wfs", "maxConnections"]


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    backend = {k: draw(VALUES) for k in draw(st.lists(st.sampled_from(BACKEND_KEYS), max_size=4))}
    backend.setdefault("url", draw(st.sampled_from(["http://h/ows", "http://h:0/", "http://h:65536/", "ftp://h/"])))
    service = {k: draw(VALUES) for k in draw(st.lists(st.sampled_from(SERVICE_KEYS), max_size=4))}
    service.setdefault("type", draw(st.sampled_from(["MapServer", "ImageServer"])))
    service["backend"] = backend
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
