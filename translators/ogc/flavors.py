"""Vendor differences between WMS servers, kept in one table so the rest of the code stays generic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# QGIS Server 3.22 runs a text FILTER as provider SQL behind a token whitelist (upper(), dates, escaped LIKE and IN
# come out wrong), while its OGC Filter XML path evaluates real QGIS expressions: QGIS gets OGC XML too.
Dialect = Literal["ogc-mapserver", "ogc-qgis", "cql"]


@dataclass(frozen=True)
class Flavor:
    """What one kind of backend can do beyond plain WMS."""

    name: str
    filter_dialect: Dialect | None
    dpi_parameter: str | None  # vendor parameter carrying the device resolution
    rotation_parameter: str | None  # vendor parameter rotating the map about its centre
    rotation_sign: float  # multiplies ArcGIS's counter-clockwise degrees into the vendor's convention
    capabilities_top_first: bool  # does document order list the topmost layer first?
    fix_group_extents: bool
    supports_raster_time: bool

    def dpi_params(self, dpi: float) -> dict[str, str]:
        """Return the vendor parameters that pass ``dpi`` on."""
        if not self.dpi_parameter:
            return {}
        value = f"{dpi:g}"
        if self.dpi_parameter == "FORMAT_OPTIONS":
            return {"FORMAT_OPTIONS": f"dpi:{value}"}
        return {self.dpi_parameter: value}


FLAVORS: dict[str, Flavor] = {
    "mapserver": Flavor("mapserver", "ogc-mapserver", "MAP_RESOLUTION", "ANGLE", -1.0, False, False, True),
    "qgis": Flavor("qgis", "ogc-qgis", "DPI", None, 1.0, True, True, False),
    "geoserver": Flavor("geoserver", "cql", "FORMAT_OPTIONS", "ANGLE", -1.0, False, False, True),
    "generic": Flavor("generic", None, None, None, 1.0, False, False, True),
}
