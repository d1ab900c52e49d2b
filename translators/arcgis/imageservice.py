"""ArcGIS JSON for image services: the root resource, keyProperties, statistics, and operation results."""

from __future__ import annotations

from typing import Any

from translators.arcgis.image import IdentifyPlan, ImageContext, ImagePlan, time_info
from translators.arcgis.mapservice import CURRENT_VERSION, envelope
from translators.crs import resolve_sr, transform_bbox
from translators.errors import InvalidParameter

ALLOWED_MOSAIC_METHODS = "None,LockRaster,ByAttribute"


def service_data_type(ctx: ImageContext, configured: str | None) -> str:
    """The configured data type, else a guess from the bands: 3+ byte bands are RGB, one float band elevation-like
    data only when the coverage says so in its name or label, anything else generic."""
    if configured:
        return configured
    if ctx.band_count >= 3 and ctx.pixel_type == "U8":
        return "esriImageServiceDataTypeRGB"
    words = f"{ctx.coverage.id} {ctx.coverage.label} {ctx.coverage.description}".lower()
    if ctx.band_count == 1 and any(w in words for w in ("elev", "dem", "height", "terrain", "bathym")):
        return "esriImageServiceDataTypeElevation"
    return "esriImageServiceDataTypeGeneric"


def service_info(ctx: ImageContext, description: str | None, copyright_text: str | None,
                 data_type: str | None) -> dict[str, Any]:
    """The ``…/ImageServer`` root resource."""
    cell_x, cell_y = ctx.coverage.pixel_size
    extent = envelope(ctx.extent, ctx.sr)
    stats = ctx.stats
    info: dict[str, Any] = {
        "currentVersion": CURRENT_VERSION,
        "serviceDescription": description or ctx.coverage.description,
        "name": ctx.name,
        "description": description or ctx.coverage.description or ctx.coverage.label,
        "extent": extent,
        "initialExtent": extent,
        "fullExtent": extent,
        "spatialReference": ctx.sr.to_json(),
        "pixelSizeX": cell_x,
        "pixelSizeY": cell_y,
        "bandCount": ctx.band_count,
        "bandNames": list(ctx.band_names),
        "pixelType": ctx.pixel_type,
        "minPixelSize": 0,
        "maxPixelSize": 0,
        "copyrightText": copyright_text or "",
        "serviceDataType": service_data_type(ctx, data_type),
        "serviceSourceType": "esriImageServiceSourceTypeDataset",
        "minValues": [s.minimum for s in stats],
        "maxValues": [s.maximum for s in stats],
        "meanValues": [s.mean for s in stats],
        "stdvValues": [s.stddev for s in stats],
        **_capabilities(ctx),
    }
    if ctx.nodata:
        info["noDataValue"] = ctx.nodata[0]
        info["noDataValues"] = [ctx.nodata[0]] * ctx.band_count if len(ctx.nodata) == 1 else list(ctx.nodata)
    else:
        info["noDataValue"] = None
        info["noDataValues"] = []
    times = time_info(ctx)
    if times is not None:
        info["timeInfo"] = times
    return info


def _capabilities(ctx: ImageContext) -> dict[str, Any]:
    """The root resource's fields on what the service can do (mostly fixed for a WCS-backed service)."""
    return {
        "objectIdField": "OBJECTID",
        "fields": [],
        "capabilities": "Image,Metadata,Download",
        "defaultMosaicMethod": "None",
        "allowedMosaicMethods": ALLOWED_MOSAIC_METHODS,
        "sortField": "",
        "sortValue": None,
        "sortAscending": False,
        "mosaicOperator": "First",
        "maxDownloadSizeLimit": 0,
        "defaultCompressionQuality": 75,
        "defaultResamplingMethod": "Nearest",
        "maxImageHeight": ctx.max_height,
        "maxImageWidth": ctx.max_width,
        "maxRecordCount": 1000,
        "maxDownloadImageCount": 20,
        "maxMosaicImageCount": 1,
        "allowRasterFunction": True,
        "rasterFunctionInfos": [{"name": "None", "description": "No processing", "help": ""}],
        "rasterTypeInfos": [],
        "mensurationCapabilities": "None",
        "hasHistograms": False,
        "hasColormap": False,
        "hasRasterAttributeTable": False,
        "hasMultidimensions": False,
        "singleFusedMapCache": False,
        "exportTilesAllowed": False,
        "supportsStatistics": True,
        "supportsAdvancedQueries": False,
        "editFieldsInfo": None,
        "ownershipBasedAccessControlForRasters": None,
        "allowComputeTiePoints": False,
        "useStandardizedQueries": True,
        "advancedQueryCapabilities": {},
        "spatialReferenceWgs84Extent": wgs84_extent(ctx),
    }


def wgs84_extent(ctx: ImageContext) -> dict[str, Any] | None:
    """The service extent in WGS 84 (clients show it in catalogs)."""
    wgs84 = resolve_sr(4326, "spatialReference")
    try:
        box = transform_bbox(ctx.extent, ctx.sr, wgs84)
    except InvalidParameter:  # an extent outside WGS 84's domain simply has no such box
        return None
    return envelope(box, wgs84)


def key_properties(ctx: ImageContext, data_type: str | None) -> dict[str, Any]:
    """``…/ImageServer/keyProperties``."""
    kind = service_data_type(ctx, data_type).replace("esriImageServiceDataType", "")
    return {"DataType": kind if kind != "RGB" else "Processed", "BandProperties": [
        {"BandName": name} for name in ctx.band_names]}


def statistics(ctx: ImageContext) -> dict[str, Any]:
    """``…/ImageServer/statistics``."""
    return {"statistics": [{"min": s.minimum, "max": s.maximum, "mean": s.mean, "standardDeviation": s.stddev,
                            "median": None, "mode": None, "skipX": 1, "skipY": 1, "count": None}
                           for s in ctx.stats]}


def export_image_result(plan: ImagePlan, href: str) -> dict[str, Any]:
    """The JSON answer of exportImage with f=json."""
    return {"href": href, "width": plan.width, "height": plan.height, "extent": envelope(plan.extent, plan.sr)}


def identify_result(plan: IdentifyPlan, values: list[float] | None) -> dict[str, Any]:
    """The JSON answer of identify: the value(s) of the cell under the point, ``NoData`` where there is none."""
    if values is None:
        value = "NoData"
    else:
        value = " ".join(str(int(v)) if float(v).is_integer() else f"{v:.10g}" for v in values)
    raster = plan.fetch.raster if plan.fetch is not None else None
    return {
        "objectId": raster.id if raster is not None else 0,
        "name": "Pixel",
        "value": value,
        "location": {"x": plan.location[0], "y": plan.location[1], "spatialReference": plan.location_sr.to_json()},
        "properties": {"Values": [value]} if raster is not None else None,
        "catalogItems": None,
        "catalogItemVisibilities": [],
    }
