"""The operation registry and the dispatcher's answers that need no backend."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from proxy import routes
from proxy.app import create_app
from proxy.settings import parse_settings

SETTINGS = {"services": {"a/World": {"type": "MapServer", "backend": {"url": "http://127.0.0.1:9/ows"}},
                         "Dem": {"type": "ImageServer", "backend": {"url": "http://127.0.0.1:9/ows"},
                                 "coverage": "dem"}}}


def test_literal_segments_win_over_wildcards_and_capture_keeps_case() -> None:
    handler, captured = routes.find("MAPSERVER", ["Layers"]) or (None, ())
    assert handler is not None and handler.__name__ == "layers" and captured == ()
    handler, captured = routes.find("mapserver", ["12"]) or (None, ())
    assert handler is not None and handler.__name__ == "layer" and captured == ("12",)
    handler, _ = routes.find("imageserver", ["Info", "Thumbnail"]) or (None, ())
    assert handler is not None and handler.__name__ == "thumbnail"
    assert routes.find("mapserver", ["12", "nothing"]) is None
    assert routes.find("featureserver", []) is None


def test_an_operation_cannot_be_registered_twice() -> None:
    async def again(call: routes.Call[Any]) -> web.StreamResponse:
        raise AssertionError

    with pytest.raises(ValueError, match="registered twice"):
        routes.operation("MapServer", "Export")(again)


@pytest.fixture
async def client(aiohttp_client: Any) -> TestClient[Any, Any]:
    app = create_app(parse_settings(SETTINGS))
    return await aiohttp_client(app)


async def test_redirects_are_answered_as_redirects(client: TestClient[Any, Any]) -> None:
    for path in ("/", "/arcgis/rest", "/arcgis/rest/"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"] == "/arcgis/rest/services"


async def test_method_not_allowed_is_arcgis_json(client: TestClient[Any, Any]) -> None:
    response = await client.post("/arcbridge/stats")
    assert response.status == 405
    assert (await response.json())["error"]["code"] == 405


async def test_unknown_service_of_a_type_names_the_type(client: TestClient[Any, Any]) -> None:
    response = await client.get("/arcgis/rest/services/a/Nothing/ImageServer?f=json")
    assert response.status == 404
    assert (await response.json())["error"]["message"] == "Service 'a/Nothing' of type ImageServer not found."
    response = await client.get("/arcgis/rest/services/a/world/mapserver/layers/more?f=json")
    assert response.status == 404
