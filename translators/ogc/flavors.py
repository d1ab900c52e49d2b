"""Vendor differences between OGC servers, kept in one table so the rest of the code stays generic.

Code reads a backend's :class:`Flavor` record and never compares flavour names.  A new kind of backend is one more
entry in :data:`FLAVORS`; configuration accepts the names found there.
"""

from __future__ import annotations

from dataclasses import dataclass

from translators.filters.dialects import CqlFilterDialect, FilterDialect, OgcFilterDialect
from translators.filters.ogc import MapServerOgc, QgisOgc


@dataclass(frozen=True, kw_only=True)
class Flavor:
    """What one kind of backend can do beyond plain WMS and WCS, and which vendor parameters ask for it.

    Further per-vendor formats belong here as they are needed (the GetFeatureInfo and legend formats of a backend).
    """

    name: str
    filter_dialect: FilterDialect | None  # how GetMap carries feature filters; None: the backend cannot filter
    dpi_parameter: str | None  # vendor parameter carrying the device resolution
    dpi_format: str  # str.format template of its value, given the resolution as a float
    rotation_parameter: str | None  # vendor parameter rotating the map about its centre
    rotation_sign: float  # multiplies ArcGIS's counter-clockwise degrees into the vendor's convention
    wcs_band_subsetting: bool  # does GetCoverage honour a band subset (BANDS, RANGESUBSET)?
    capabilities_top_first: bool  # does document order list the topmost layer first?
    fix_group_extents: bool  # are a group's advertised extents wrong, to be rebuilt from its children?
    supports_raster_time: bool  # can rasters be asked for by TIME?
    dpi_range: tuple[float, float] = (1.0, 2400.0)  # the resolutions it draws (MapServer answers others with HTML)
    filter_refusal: str | None = None  # in its exception when it cannot apply a GetMap filter (e.g. unknown field)

    def dpi_params(self, dpi: float) -> dict[str, str]:
        """Return the vendor parameters that pass ``dpi`` on."""
        if not self.dpi_parameter:
            return {}
        return {self.dpi_parameter: self.dpi_format.format(dpi)}


# MapServer and QGIS Server read one OGC Filter document per layer in WMS FILTER, each in parentheses ("()" for a
# layer without one).  QGIS Server 3.22 runs a text FILTER as provider SQL behind a token whitelist (upper(), dates,
# escaped LIKE and IN come out wrong), while its OGC Filter XML path evaluates real QGIS expressions: QGIS gets OGC
# XML too.  GeoServer reads ECQL in CQL_FILTER, one condition per layer separated by ';' (INCLUDE: no filter).
FLAVORS: dict[str, Flavor] = {flavor.name: flavor for flavor in (
    Flavor(
        name="mapserver",
        filter_dialect=OgcFilterDialect(parameter="FILTER", separator="", layer_template="({})", unfiltered="",
                                        variant=MapServerOgc),
        dpi_parameter="MAP_RESOLUTION",
        dpi_format="{:g}",
        dpi_range=(10.0, 1000.0),  # MapServer 8 refuses MAP_RESOLUTION outside it with an HTML error page
        filter_refusal="msWMSApplyFilter()",
        rotation_parameter="ANGLE",
        rotation_sign=-1.0,
        wcs_band_subsetting=True,
        capabilities_top_first=False,
        fix_group_extents=False,
        supports_raster_time=True,
    ),
    Flavor(
        name="qgis",
        filter_dialect=OgcFilterDialect(parameter="FILTER", separator="", layer_template="({})", unfiltered="",
                                        variant=QgisOgc),
        dpi_parameter="DPI",
        dpi_format="{:g}",
        rotation_parameter=None,
        rotation_sign=1.0,
        wcs_band_subsetting=False,
        capabilities_top_first=True,
        fix_group_extents=True,  # QGIS Server 3.22 publishes wrong group boxes
        supports_raster_time=False,
    ),
    Flavor(
        name="geoserver",
        filter_dialect=CqlFilterDialect(parameter="CQL_FILTER", separator=";", layer_template="{}",
                                        unfiltered="INCLUDE"),
        dpi_parameter="FORMAT_OPTIONS",
        dpi_format="dpi:{:g}",
        rotation_parameter="ANGLE",
        rotation_sign=-1.0,
        wcs_band_subsetting=False,
        capabilities_top_first=False,
        fix_group_extents=False,
        supports_raster_time=True,
    ),
    Flavor(
        name="generic",
        filter_dialect=None,
        dpi_parameter=None,
        dpi_format="{:g}",
        rotation_parameter=None,
        rotation_sign=1.0,
        wcs_band_subsetting=False,
        capabilities_top_first=False,
        fix_group_extents=False,
        supports_raster_time=True,
    ),
)}

DEFAULT_FLAVOR = "generic"
"""The flavour of a backend whose configuration names none: plain WMS/WCS."""
