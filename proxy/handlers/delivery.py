"""The ``f=`` outputs that export and exportImage both answer besides the bytes: json/pjson/html with an ``href`` to
the stored picture, and kmz (a ground overlay of a picture drawn in WGS 84)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from aiohttp import web

from proxy.respond import json_response, respond
from proxy.routes import Call
from translators.arcgis.formats import KMZ_CONTENT_TYPE
from translators.imaging import make_kmz
from translators.ogc.wms import BBox


async def kmz(call: Call[Any], picture: bytes, extension: str, wgs84: BBox, name: str,
              filename: str) -> web.Response:
    """A KMZ download wrapping ``picture`` (which covers ``wgs84``, lon/lat) as a GroundOverlay named ``name``."""
    x0, y0, x1, y1 = wgs84
    body = await call.run_cpu(make_kmz, picture, extension, y1, y0, x1, x0, name)
    return web.Response(body=body, content_type=KMZ_CONTENT_TYPE,
                        headers={"Content-Disposition": f"attachment; filename={filename}"})


async def described(call: Call[Any], output: str, picture: bytes, content_type: str, extension: str,
                    result: Callable[[str], dict[str, Any]], title: str, alt: str | None) -> web.Response:
    """``f=json``/``pjson``/``html``: store the picture (downloadable at its ``href`` for the output TTL) and answer
    its description; the HTML page shows the picture (with ``alt`` as its text) unless ``alt`` is None."""
    name = await call.outputs.put(picture, content_type, extension)
    href = f"{call.base_url}/arcgis/rest/directories/arcgisoutput/{name}"
    data = result(href)
    if output in ("json", "pjson"):
        return json_response(data, call.params, pretty=output == "pjson")
    extra = "" if alt is None else \
        f"<p><img src='{html.escape(href)}' alt='{alt}' style='border:1px solid #ccc'></p>"
    return respond(data, call.params, title, extra_html=extra)
