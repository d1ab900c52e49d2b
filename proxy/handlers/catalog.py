"""The catalog: ``/arcgis/rest/info``, ``/arcgis/rest/services`` and folders."""

from __future__ import annotations

from aiohttp import web

from proxy.respond import respond
from proxy.services import Registry
from translators.arcgis.mapservice import CURRENT_VERSION
from translators.errors import NotFound
from translators.params import Params


def info(params: Params, base_url: str) -> web.Response:
    """``/arcgis/rest/info``; ``soapUrl`` is the SOAP catalog (``/arcgis/services``)."""
    data = {
        "currentVersion": CURRENT_VERSION,
        "fullVersion": "10.9.1",
        "soapUrl": f"{base_url}/arcgis/services",
        "secureSoapUrl": None,
        "owningSystemUrl": None,
        "authInfo": {"isTokenBasedSecurity": False},
    }
    return respond(data, params, "ArcGIS REST Services Directory: info")


def services(registry: Registry, folder: str | None, params: Params) -> web.Response:
    """``/arcgis/rest/services`` (folder None) or ``/arcgis/rest/services/<folder>``."""
    if folder is not None:
        match = next((f for f in registry.folders() if f.lower() == folder.lower()), None)
        if match is None:
            raise NotFound(f"Folder '{folder}' not found.")
        folder = match
    data = {
        "currentVersion": CURRENT_VERSION,
        "folders": registry.folders() if folder is None else [],
        "services": [{"name": s.name, "type": s.type} for s in registry.services_in(folder)],
    }
    return respond(data, params, f"Folder: {folder or '/'}")
