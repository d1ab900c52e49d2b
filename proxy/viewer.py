"""``/arcbridge/viewer/<service>/<Kind>``: a service drawn in a map (:mod:`translators.arcgis.viewer`), and
``/arcbridge/static/``: the Leaflet and Esri Leaflet builds the page uses, shipped in the package."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from proxy.services import MapService, Registry
from translators.arcgis.viewer import STATIC, viewer_page
from translators.crs import resolve_sr, transform_bbox

STATIC_DIR = Path(__file__).resolve().parent / "static"
_WGS84 = resolve_sr(4326, "sr")


def install(app: web.Application, registry: Registry, base_url: Callable[[web.Request], str]) -> None:
    """Add the viewer and its static files to ``app`` (``base_url(request)``: the gateway's public URL)."""

    async def viewer(request: web.Request) -> web.Response:
        """The map page of one service."""
        name, _, kind = request.match_info["tail"].rstrip("/").rpartition("/")
        service = registry.service(kind, name)  # NotFound for an unknown service or type
        if isinstance(service, MapService):
            map_ctx = await service.context()
            wgs84 = transform_bbox(map_ctx.full_extent, map_ctx.sr, _WGS84)
        else:
            image_ctx = await service.context()
            wgs84 = transform_bbox(image_ctx.extent, image_ctx.sr, _WGS84)
        settings = service.settings
        url = f"{base_url(request)}/arcgis/rest/services/{settings.name}/{settings.type}"
        return web.Response(text=viewer_page(settings.name, settings.type, url, wgs84), content_type="text/html",
                            charset="utf-8")

    app.router.add_route("GET", "/arcbridge/viewer/{tail:.+}", viewer)
    app.router.add_static(STATIC, STATIC_DIR, append_version=False)
