"""The Services Directory's "View in a map" page: the service drawn by Esri Leaflet over Leaflet, both served by the
gateway itself (``/arcbridge/static``), so the page works without internet access.

The page publishes its progress for people and tests alike: ``window.__loaded`` once the layer drew the view,
``window.__errors`` with what failed.
"""

from __future__ import annotations

import html
import json

from translators.arcgis.directory import shell

STATIC = "/arcbridge/static"
_SCRIPT = """
window.__loaded = false; window.__errors = []; window.__loads = 0;
const view = %(view)s;
const map = L.map('map', {zoomSnap: 0});
const layer = view.kind === 'ImageServer'
  ? L.esri.imageMapLayer({url: view.url, format: 'png'})
  : L.esri.dynamicMapLayer({url: view.url, f: 'image', format: 'png32', transparent: true});
layer.on('load', () => { window.__loads += 1; window.__loaded = true; });
layer.on('requesterror', (e) => window.__errors.push(String(e.message || e)));
map.on('moveend', () => { window.__bounds = map.getBounds().toBBoxString(); });
layer.addTo(map);
map.fitBounds([[view.south, view.west], [view.north, view.east]]);
L.control.scale().addTo(map);
"""


def viewer_page(name: str, kind: str, service_url: str, wgs84: tuple[float, float, float, float]) -> str:
    """The map page of a service whose extent is ``wgs84`` (lon/lat: west, south, east, north)."""
    west, south, east, north = wgs84
    view = {"kind": kind, "url": service_url, "west": max(west, -180.0), "east": min(east, 180.0),
            "south": max(south, -85.0), "north": min(north, 85.0)}
    # The JSON is placed inside a <script>: "</" must not end it early.
    script = _SCRIPT % {"view": json.dumps(view).replace("</", "<\\/")}
    head = (f"<link rel='stylesheet' href='{STATIC}/leaflet.css'>"
            f"<script src='{STATIC}/leaflet.js'></script><script src='{STATIC}/esri-leaflet.js'></script>"
            "<style>#map{position:absolute;top:64px;bottom:0;left:0;right:0}</style>")
    title = f"{name} ({kind})"
    body = (f"<div id='breadcrumbs'><a href='{html.escape(service_url)}'>{html.escape(title)}</a> &gt; "
            f"View in a map</div><div id='map'></div><script>{script}</script>")
    return shell(f"{title}: map", body, head)
