"""Identify at one point of an ArcGIS MapServer layer with QGIS's own ArcGIS provider (``arcgismapserver``), headless.

Run by Debian's ``/usr/bin/python3`` (the QGIS Python bindings live there, not in the venv)::

    python3 tests/clients/qgis_identify.py <MapServer URL> <layer id> <x> <y> <xmin,ymin,xmax,ymax> <w,h,dpi>

QGIS sends ``<url>/identify`` with its unquoted-key ``geometry={x: …, y: …}``, ``layers=all:<id>``, no ``sr``, the
map extent and size given, and reads ``results[]`` into features.  Prints one JSON list of
``{"layer", "attributes", "wkt"}`` (attribute values as QGIS holds them, as text), or ``error <message>``; exit
status 0 only when the identify succeeded.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsPointXY, QgsRaster, QgsRasterLayer, QgsRectangle


def main(url: str, layer: str, x: str, y: str, extent: str, display: str) -> int:
    """Identify and print the features; return the exit status."""
    app = QgsApplication([], False)
    app.setPrefixPath("/usr", True)
    app.initQgis()  # never exitQgis(): 3.22 crashes (SIGSEGV) on it in a headless run; __main__ ends with _exit
    raster = QgsRasterLayer(f"crs='EPSG:4326' format='PNG32' layer='{layer}' url='{url}'", "identify",
                            "arcgismapserver")
    if not raster.isValid():
        print("error", raster.error().summary())
        return 1
    xmin, ymin, xmax, ymax = (float(v) for v in extent.split(","))
    width, height, dpi = (int(float(v)) for v in display.split(","))
    result = raster.dataProvider().identify(QgsPointXY(float(x), float(y)), QgsRaster.IdentifyFormatFeature,
                                            QgsRectangle(xmin, ymin, xmax, ymax), width, height, dpi)
    if not result.isValid():
        print("error", result.error().summary())
        return 1
    found = []
    for key, stores in result.results().items():
        for store in stores:
            for feature in store.features():
                found.append({"layer": key, "attributes": {f.name(): str(feature[f.name()]) for f in feature.fields()},
                              "wkt": feature.geometry().asWkt() if feature.hasGeometry() else None})
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    status = main(*sys.argv[1:7])
    sys.stdout.flush()
    os._exit(status)
