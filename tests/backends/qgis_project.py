"""Write the QGIS Server test project with PyQGIS. Runs under Debian's ``/usr/bin/python3`` (which has ``qgis``):

    PYTHONPATH=REPO QT_QPA_PLATFORM=offscreen /usr/bin/python3 -m tests.backends.qgis_project DATA_DIR OUT.qgs

Called by :func:`tests.backends.generate.write_qgis_project`. Same layer short names, colours and group as the
mapfile; QGIS 3.22 has no raster TIME, so each temperature date is its own layer (``temperature_20200101`` …).
"""

from __future__ import annotations

import sys
from pathlib import Path

from qgis.core import (  # type: ignore[import-not-found]
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsContrastEnhancement,
    QgsCoordinateReferenceSystem,
    QgsFillSymbol,
    QgsMapLayer,
    QgsMarkerSymbol,
    QgsMultiBandColorRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRendererCategory,
    QgsSingleBandGrayRenderer,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
    QgsVectorLayerServerProperties,
    QgsVectorLayerTemporalProperties,
)
from qgis.PyQt.QtGui import QColor  # type: ignore[import-not-found]

from tests.backends import dataspec as ds


def _rgba(c: tuple[int, int, int]) -> str:
    return f"{c[0]},{c[1]},{c[2]},255"


def _fill(c: tuple[int, int, int]) -> QgsFillSymbol:
    return QgsFillSymbol.createSimple({"color": _rgba(c), "outline_style": "no", "style": "solid"})


def _square(c: tuple[int, int, int]) -> QgsMarkerSymbol:
    return QgsMarkerSymbol.createSimple(
        {
            "name": "square",
            "color": _rgba(c),
            "size": str(ds.SYMBOL_SIZE_PX),
            "size_unit": "Pixel",
            "outline_style": "no",
            "angle": "0",
        }
    )


def _describe(layer: QgsMapLayer, short: str, title: str, abstract: str) -> QgsMapLayer:
    if not layer.isValid():
        raise RuntimeError(f"invalid layer {short}: {layer.source()}")
    layer.setShortName(short)
    layer.setTitle(title)
    layer.setAbstract(abstract)
    layer.setAttribution(ds.ATTRIBUTION)
    layer.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    return layer


def _vector(data_dir: Path, key: str, title: str, abstract: str) -> QgsVectorLayer:
    layer = QgsVectorLayer(str(data_dir / ds.FILES[key]), key, "ogr")
    return _describe(layer, key, title, abstract)


def _raster(path: Path, short: str, title: str, abstract: str) -> QgsRasterLayer:
    return _describe(QgsRasterLayer(str(path), short, "gdal"), short, title, abstract)


def _rgb_renderer(layer: QgsRasterLayer) -> None:
    """Bands 1, 2, 3 as R, G, B with no contrast enhancement: output colours equal the data."""
    layer.setRenderer(QgsMultiBandColorRenderer(layer.dataProvider(), 1, 2, 3))


def _stretch(provider: object, band: int, lo: float, hi: float) -> QgsContrastEnhancement:
    ce = QgsContrastEnhancement(provider.dataType(band))  # type: ignore[attr-defined]
    ce.setContrastEnhancementAlgorithm(QgsContrastEnhancement.StretchToMinimumMaximum)
    ce.setMinimumValue(lo)
    ce.setMaximumValue(hi)
    return ce


def build(data_dir: Path, out: Path) -> None:
    """Build the project from the files in ``data_dir`` and write it to ``out``."""
    project = QgsProject.instance()
    project.clear()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    project.setTitle(ds.MAP_TITLE)
    project.setBackgroundColor(QColor(*ds.BACKGROUND))
    root = project.layerTreeRoot()

    # ---- rasters
    rgb = _raster(data_dir / ds.FILES["rgb"], "rgb", "RGB cells",
                  "10 degree cells: R = 7 * column + 3, G = 14 * row + 3, B = 200")  # fmt: skip
    _rgb_renderer(rgb)

    temperature = []
    for date in ds.TEMPERATURE_DATES:
        name = ds.QGIS_TEMPERATURE_LAYERS[date]
        layer = _raster(data_dir / ds.temperature_file(date), name, f"Temperature {date}",
                        f"Uniform raster of {date} (QGIS 3.22 has no raster TIME)")  # fmt: skip
        _rgb_renderer(layer)
        temperature.append(layer)

    dem = _raster(data_dir / ds.FILES["dem"], "dem", "Elevation",
                  f"Float32 elevation, 100 + 2 * col - 0.5 * row, nodata {ds.DEM_NODATA:g}")  # fmt: skip
    gray = QgsSingleBandGrayRenderer(dem.dataProvider(), 1)
    gray.setContrastEnhancement(_stretch(dem.dataProvider(), 1, *ds.DEM_DISPLAY_RANGE))
    dem.setRenderer(gray)

    multiband = _raster(data_dir / ds.FILES["multiband"], "multiband", "Multiband Int16",
                        "band1 = 10 * col, band2 = 10 * row, band3 = col - row - 100")  # fmt: skip
    mbr = QgsMultiBandColorRenderer(multiband.dataProvider(), 1, 2, 3)
    mbr.setRedContrastEnhancement(_stretch(multiband.dataProvider(), 1, *ds.MULTIBAND_DISPLAY_RANGE))
    mbr.setGreenContrastEnhancement(_stretch(multiband.dataProvider(), 2, *ds.MULTIBAND_DISPLAY_RANGE))
    mbr.setBlueContrastEnhancement(_stretch(multiband.dataProvider(), 3, *ds.MULTIBAND_DISPLAY_RANGE))
    multiband.setRenderer(mbr)

    # ---- ImageServer coverages (WCS 1.0.0 and WMS previews): no tempcov (raster TIME), one layer per date instead
    tempcov = []
    for i, date in enumerate(ds.TEMP_COVERAGE_DATES):
        name = ds.TEMP_COVERAGE_LAYERS[date]
        abstract = f"Float32 of {date}: {1000 * i} + col + 0.5 * row, nodata {ds.TEMP_COVERAGE_NODATA:g}"
        layer = _raster(data_dir / ds.temp_coverage_file(date), name, f"Temperature coverage {date}", abstract)
        grey = QgsSingleBandGrayRenderer(layer.dataProvider(), 1)
        grey.setContrastEnhancement(_stretch(layer.dataProvider(), 1, *ds.TEMP_COVERAGE_DISPLAY_RANGE))
        layer.setRenderer(grey)
        tempcov.append(layer)

    rgbcov = _raster(data_dir / ds.FILES["rgbcov"], "rgbcov", "RGB coverage", "3-band uint8 crop of rgb")
    _rgb_renderer(rgbcov)

    bands4 = _raster(data_dir / ds.FILES["bands4"], "bands4", "Four bands Int16",
                     "blue, green, red, nir; drawn as red, green, blue")  # fmt: skip
    b4r = QgsMultiBandColorRenderer(bands4.dataProvider(), *ds.BANDS4_DISPLAY_BANDS)
    red, green, blue = (_stretch(bands4.dataProvider(), b, *ds.BANDS4_DISPLAY_RANGE) for b in ds.BANDS4_DISPLAY_BANDS)
    b4r.setRedContrastEnhancement(red)
    b4r.setGreenContrastEnhancement(green)
    b4r.setBlueContrastEnhancement(blue)
    bands4.setRenderer(b4r)
    image_layers = [*tempcov, rgbcov, bands4]

    # ---- vectors
    regions = _vector(data_dir, "regions", "Regions", "Axis-aligned rectangles, filled by category")
    regions.setRenderer(
        QgsCategorizedSymbolRenderer(
            "category",
            [QgsRendererCategory(cat, _fill(col), f"Category {cat}") for cat, col in ds.REGION_COLOURS.items()],
        )
    )
    cities = _vector(data_dir, "cities", "Cities", "Points drawn as 10 px squares by category")
    cities.setRenderer(
        QgsCategorizedSymbolRenderer(
            "category",
            [QgsRendererCategory(cat, _square(col), cat.capitalize()) for cat, col in ds.CITY_COLOURS.items()],
        )
    )
    events = _vector(data_dir, "events", "Events (time-enabled)", "Dated points of 2020")
    events.setRenderer(QgsSingleSymbolRenderer(_square(ds.EVENT_COLOUR)))
    temporal = events.temporalProperties()
    temporal.setIsActive(True)
    temporal.setMode(QgsVectorLayerTemporalProperties.ModeFeatureDateTimeInstantFromField)
    temporal.setStartField("date")
    events.serverProperties().addWmsDimension(
        QgsVectorLayerServerProperties.WmsDimensionInfo("time", "date", "", "ISO8601", "")
    )

    # ---- layer tree: top of the tree draws on top
    for layer in (rgb, *temperature, dem, multiband, *image_layers, regions, cities, events):
        project.addMapLayer(layer, False)
    root.addLayer(events)
    group = root.addGroup(ds.GROUP_NAME)
    group.setCustomProperty("wmsShortName", ds.GROUP_NAME)
    group.setCustomProperty("wmsTitle", "Overlays")
    group.setCustomProperty("wmsAbstract", "Regions and cities")
    group.addLayer(cities)
    group.addLayer(regions)
    for layer in (multiband, *image_layers, dem, *temperature, rgb):
        root.addLayer(layer)

    # ---- OWS settings
    we = project.writeEntry
    we("WMSServiceCapabilities", "/", True)
    we("WMSServiceTitle", "/", ds.MAP_TITLE)
    we("WMSServiceAbstract", "/", ds.MAP_ABSTRACT)
    we("WMSRootName", "/", ds.ROOT_LAYER_NAME)
    we("WMSKeywordList", "/", ["arcbridge", "test"])
    we("WMSContactOrganization", "/", "arcbridge")
    we("WMSContactPerson", "/", "arcbridge tests")
    we("WMSFees", "/", "none")
    we("WMSAccessConstraints", "/", ds.ACCESS_CONSTRAINTS)
    we("WMSCrsList", "/", list(ds.WMS_CRS))
    project.writeEntryBool("WMSRestrictedCrs", "/", True)  # read by older versions; WMSCrsList alone suffices
    we("WMSExtent", "/", [str(v) for v in ds.RGB_EXTENT])
    project.writeEntryBool("WMSUseLayerIDs", "/", False)
    project.writeEntryBool("WMSAddWktGeometry", "/", True)
    we("WMSPrecision", "/", "6")
    we("WMSImageQuality", "/", 95)
    we("WCSLayers", "/", [dem.id(), multiband.id(), *(layer.id() for layer in image_layers)])
    we("WFSLayers", "/", [regions.id(), cities.id(), events.id()])
    for layer in (regions, cities, events):
        we("WFSLayersPrecision", "/" + layer.id(), 6)
    # WMTS (tile pass-through tests): the rgb layer as PNG tiles on QGIS's default EPSG:3857 grid.
    we("WMTSLayers", "/Layer", [rgb.id()])
    we("WMTSPngLayers", "/Layer", [rgb.id()])

    if not project.write(str(out)):
        raise RuntimeError(f"could not write {out}: {project.error()}")


def main(argv: list[str]) -> int:
    """Entry point: ``qgis_project DATA_DIR OUT``."""
    data_dir, out = Path(argv[1]).resolve(), Path(argv[2]).resolve()
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    try:
        build(data_dir, out)
    finally:
        QgsProject.instance().clear()
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
