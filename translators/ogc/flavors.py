"""Vendor differences between OGC servers, kept in one table so the rest of the code stays generic.

Code reads a backend's :class:`Flavor` record and never compares flavour names.  A new kind of backend is one more
entry in :data:`FLAVORS`; configuration accepts the names found there.
"""

from __future__ import annotations

from dataclasses import dataclass

from translators.crs import SpatialRef
from translators.filters.dialects import CqlFilterDialect, FilterDialect, OgcFilterDialect
from translators.filters.ogc import MapServerOgc, OgcVariant, QgisOgc
from translators.ogc.legend import LegendRoute


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
    # Does WCS 2.0.1 RANGESUBSET take 1-based band indices?  MapServer 8 resolves names against wcs_band_names, which
    # is not always what its DescribeCoverage advertises (band1… when described from the file), but always takes
    # indices; the standard only promises the advertised field names.
    wcs_range_indices: bool
    capabilities_top_first: bool  # does document order list the top layer first? (backend.capabilitiesOrder wins)
    fix_group_extents: bool  # are a group's advertised extents wrong, to be rebuilt from its children?
    supports_raster_time: bool  # can rasters be asked for by TIME?
    # The WMS version to ask a GetMap in when the CRS has lat/lon axis order under WMS 1.3.0 (None: the service's
    # own): MapServer 8 resamples such an axis-swapped request, 1.1.1 (x/y) draws the same pixels without it.
    yx_getmap_version: str | None
    dpi_range: tuple[float, float]  # the resolutions it draws (MapServer answers others with an HTML page)
    getmap_post: bool  # does it take a GetMap's KVP as a POSTed form (for filters too long for a URL)?
    # GetFeatureInfo (identify).  The INFO_FORMAT asked for: MapServer 8's JSON carries no raster values and takes one
    # layer a request, its GML (msGMLOutput) carries both and several layers; QGIS' JSON carries both.
    gfi_format: str = "application/vnd.ogc.gml"
    gfi_single_layer: bool = False  # one QUERY_LAYERS entry a request?
    gfi_tolerance_parameters: tuple[str, ...] = ()  # vendor parameters taking the identify tolerance in pixels
    gfi_vendor_params: tuple[tuple[str, str], ...] = ()  # always sent with a GetFeatureInfo
    gfi_filters: bool = False  # does GetFeatureInfo honour the filter_dialect's parameter?
    # How ``…/MapServer/legend`` lists a layer's classes and draws their icons (translators/ogc/legend.py), and the
    # vendor parameter that draws those icons at a resolution (None: icons are drawn at the backend's own).
    legend_route: LegendRoute = LegendRoute.LAYER_IMAGE
    legend_dpi_parameter: str | None = None
    legend_dpi_format: str = "{:g}"
    # WFS GetFeature (layer query, identify): the version spoken (2.0.0: TYPENAMES, COUNT, FES 2.0 filters; 1.1.0:
    # TYPENAME, MAXFEATURES, OGC Filter 1.1), the prefix its type names take there, the output format asked for
    # (None: its GML default), how a where clause is written for it in FILTER, the vendor parameter taking the
    # whole filter as a QGIS expression instead (None: FILTER) and whether it honours STARTINDEX.
    wfs_version: str = "1.1.0"
    wfs_typename_prefix: str = ""
    wfs_output_format: str | None = None
    wfs_filter_variant: OgcVariant = MapServerOgc
    wfs_expression_parameter: str | None = None
    wfs_start_index: bool = False
    wfs_compares_dates: bool = True  # does its WFS filter compare date fields with date literals?
    # Byte strings only this server writes into its WMS capabilities (``arcbridge init`` guesses the flavour by them).
    capabilities_marks: tuple[bytes, ...] = ()

    def dpi_params(self, dpi: float) -> dict[str, str]:
        """Return the vendor parameters that pass ``dpi`` on."""
        if not self.dpi_parameter:
            return {}
        return {self.dpi_parameter: self.dpi_format.format(dpi)}

    def legend_dpi_params(self, dpi: float) -> dict[str, str]:
        """Return the vendor parameters that draw legend icons at ``dpi``."""
        if not self.legend_dpi_parameter:
            return {}
        return {self.legend_dpi_parameter: self.legend_dpi_format.format(dpi)}

    def getmap_version(self, version: str, sr: SpatialRef, crs_code: str) -> str:
        """The WMS version to send a GetMap in ``sr`` (known to the server as ``crs_code``) for a service speaking
        ``version``: the cheapest that draws the same pixels."""
        if (self.yx_getmap_version is not None and version == "1.3.0" and sr.axis_yx
                and crs_code.upper().startswith("EPSG:")):  # a code that WMS 1.1.1's SRS also takes
            return self.yx_getmap_version
        return version


# MapServer and QGIS Server read one OGC Filter document per layer in WMS FILTER, each in parentheses ("()" for a
# layer without one).  QGIS Server 3.22 runs a text FILTER as provider SQL behind a token whitelist (upper(), dates,
# escaped LIKE and IN come out wrong), while its OGC Filter XML path evaluates real QGIS expressions: QGIS gets OGC
# XML too.  GeoServer reads ECQL in CQL_FILTER, one condition per layer separated by ';' (INCLUDE: no filter).
FLAVORS: dict[str, Flavor] = {flavor.name: flavor for flavor in (
    Flavor(
        name="mapserver",
        capabilities_marks=(b"<!-- MapServer version", b"mapserver.gis.umn.edu"),
        filter_dialect=OgcFilterDialect(parameter="FILTER", separator="", layer_template="({})", unfiltered="",
                                        variant=MapServerOgc),
        dpi_parameter="MAP_RESOLUTION",
        dpi_format="{:g}",
        dpi_range=(10.0, 1000.0),  # MapServer 8 refuses MAP_RESOLUTION outside it with an HTML error page
        getmap_post=True,  # checked: MapServer 8 and QGIS Server 3.22 read a 300 kB form
        rotation_parameter="ANGLE",
        rotation_sign=-1.0,
        wcs_band_subsetting=True,
        wcs_range_indices=True,
        capabilities_top_first=False,
        fix_group_extents=False,
        supports_raster_time=True,
        yx_getmap_version="1.1.1",
        gfi_format="application/vnd.ogc.gml",  # JSON: no raster values, one layer a request
        gfi_single_layer=False,
        gfi_tolerance_parameters=(),  # only the mapfile's TOLERANCE: no request parameter
        gfi_filters=False,  # FILTER is read by GetMap only
        legend_route=LegendRoute.SLD_RULES,  # GetStyles names the classes; GetLegendGraphic RULE draws each
        legend_dpi_parameter="MAP_RESOLUTION",  # checked: doubles the symbols of a RULE icon at 192
        # MapServer 8: WFS 2.0.0 with FES 2.0 filters and GML 3.2 (feature ids cities.3); GeoJSON only where the
        # mapfile lists an OGR format in wfs_getfeature_formatlist, and without feature ids.
        wfs_version="2.0.0",
        wfs_typename_prefix="ms:",
        wfs_start_index=True,
        wfs_compares_dates=False,  # every FES 2.0 comparison on a date field matches nothing; fes:During works
    ),
    Flavor(
        name="qgis",
        capabilities_marks=(b"www.qgis.org", b"QGIS"),
        filter_dialect=OgcFilterDialect(parameter="FILTER", separator="", layer_template="({})", unfiltered="",
                                        variant=QgisOgc),
        dpi_parameter="DPI",
        dpi_format="{:g}",
        dpi_range=(1.0, 2400.0),
        getmap_post=True,
        rotation_parameter=None,
        rotation_sign=1.0,
        wcs_band_subsetting=False,
        wcs_range_indices=False,
        capabilities_top_first=True,
        fix_group_extents=True,  # QGIS Server 3.22 publishes wrong group boxes
        supports_raster_time=False,
        yx_getmap_version=None,
        gfi_format="application/json",
        gfi_single_layer=False,
        # Its default point tolerance is tiny (a point 4 px off is missed): always sent.
        gfi_tolerance_parameters=("FI_POINT_TOLERANCE", "FI_LINE_TOLERANCE", "FI_POLYGON_TOLERANCE"),
        gfi_vendor_params=(("WITH_GEOMETRY", "TRUE"),),
        gfi_filters=True,
        legend_route=LegendRoute.QGIS_JSON,
        legend_dpi_parameter="DPI",  # checked: a RULE icon's symbol grows with it (the JSON icons do not, 3.22)
        # QGIS Server 3.22 speaks WFS 1.0.0 and 1.1.0 only; its GeoJSON (ids cities.3) ignores SRSNAME (lon/lat).
        # Its WFS ignores SORTBY beside a FILTER (and a FILTER holding ogc:FeatureId loses its other conditions),
        # while EXP_FILTER (a QGIS expression) combines with SORTBY and paging: where, ids and geometry go there.
        wfs_version="1.1.0",
        wfs_output_format="application/vnd.geo+json",
        wfs_filter_variant=QgisOgc,
        wfs_expression_parameter="EXP_FILTER",
        wfs_start_index=True,  # its vendor STARTINDEX
    ),
    Flavor(
        name="geoserver",
        capabilities_marks=(b"/geoserver/", b"GeoServer"),
        filter_dialect=CqlFilterDialect(parameter="CQL_FILTER", separator=";", layer_template="{}",
                                        unfiltered="INCLUDE"),
        dpi_parameter="FORMAT_OPTIONS",
        dpi_format="dpi:{:g}",
        dpi_range=(1.0, 2400.0),
        getmap_post=False,  # not checked here
        rotation_parameter="ANGLE",
        rotation_sign=-1.0,
        wcs_band_subsetting=False,
        wcs_range_indices=False,
        capabilities_top_first=False,
        fix_group_extents=False,
        supports_raster_time=True,
        yx_getmap_version=None,
        gfi_format="application/json",  # documented, not checked here
        gfi_tolerance_parameters=("BUFFER",),
        gfi_filters=True,  # CQL_FILTER applies to GetFeatureInfo too
        legend_route=LegendRoute.GEOSERVER_JSON,  # checked against captured documents only
        legend_dpi_parameter="LEGEND_OPTIONS",
        legend_dpi_format="dpi:{:g};forceLabels:off",
        wfs_version="2.0.0",  # documented, not tested against a server here
        wfs_output_format="application/json",
        wfs_start_index=True,
    ),
    Flavor(
        name="generic",
        filter_dialect=None,
        dpi_parameter=None,
        dpi_format="{:g}",
        dpi_range=(1.0, 2400.0),
        getmap_post=False,
        rotation_parameter=None,
        rotation_sign=1.0,
        wcs_band_subsetting=False,
        wcs_range_indices=False,
        capabilities_top_first=True,  # table-of-contents order: MapProxy, QGIS, deegree, ArcGIS
        fix_group_extents=False,
        supports_raster_time=True,
        yx_getmap_version=None,
    ),
)}

DEFAULT_FLAVOR = "generic"
"""The flavour of a backend whose configuration names none: plain WMS/WCS."""


def guess_flavor(capabilities: bytes) -> str:
    """The flavour whose marks a WMS capabilities document carries (:data:`DEFAULT_FLAVOR` when none does)."""
    return next((name for name, flavor in FLAVORS.items()
                 if any(mark in capabilities for mark in flavor.capabilities_marks)), DEFAULT_FLAVOR)
