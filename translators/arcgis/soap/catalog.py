"""The SOAP service catalog (``/arcgis/services``) that ArcMap's "Add ArcGIS Server" browses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from translators.arcgis.soap.xml import Node
from translators.errors import InvalidParameter

# What ArcMap needs to hear to stay on SOAP (never the binary protocol) and to skip token handling.
FIXED: dict[str, Any] = {
    "GetMessageVersion": "esriArcGISVersion10",
    "GetMessageFormats": "esriServiceCatalogMessageFormatSoap",
    "RequiresTokens": False,
    "GetTokenServiceURL": "",
}


def service_descriptions(base_url: str, names: Sequence[str]) -> list[dict[str, Any]]:
    """A ``ServiceDescription`` per map service (``folder/Name``): only MapServers have a SOAP endpoint."""
    return [{"Name": name, "TypeName": "MapServer", "Url": f"{base_url}/arcgis/services/{name}/MapServer",
             "Capabilities": "Map", "ParentType": "", "SupportedExtensions": ""} for name in names]


def folder_filter(body: Node, names: Sequence[str], folders: Sequence[str]) -> list[str]:
    """``GetServiceDescriptionsEx(FolderName)``: the services directly in a folder (empty: the root)."""
    folder = (body.string("FolderName") or "").strip("/")
    if folder and folder.lower() not in (f.lower() for f in folders):
        raise InvalidParameter(f"{body.path}/FolderName", f"folder '{folder[:80]}' does not exist")
    return [n for n in names if (n.rpartition("/")[0].lower() == folder.lower())]
