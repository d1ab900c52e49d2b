"""Draw a tiled ArcGIS MapServer with QGIS's own ArcGIS provider (``arcgismapserver``), headless.

Run by Debian's ``/usr/bin/python3`` (the QGIS Python bindings live there, not in the venv)::

    python3 tests/clients/qgis_tiles.py <MapServer URL> <xmin,ymin,xmax,ymax in EPSG:3857> <width> <height> <out.png>

For a service with ``singleFusedMapCache`` in metres QGIS reads ``tileInfo`` and fetches ``/tile/L/row/col``
(``QgsAmsProvider::draw``). The map is rendered at 96 dpi into ``out.png``. Prints ``size <w> <h>`` or
``error <message>``; exit status 0 only when an image was drawn.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRasterLayer,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QSize


def main(url: str, bbox: str, width: str, height: str, out: str) -> int:
    """Render the service over ``bbox`` and save it; return the exit status."""
    app = QgsApplication([], False)
    app.setPrefixPath("/usr", True)
    app.initQgis()  # never exitQgis(): 3.22 crashes (SIGSEGV) on it in a headless run; __main__ ends with _exit
    raster = QgsRasterLayer(f"crs='EPSG:3857' format='PNG32' layer='0' url='{url}'", "tiled", "arcgismapserver")
    if not raster.isValid():
        print("error", raster.error().summary())
        return 1
    x0, y0, x1, y1 = (float(v) for v in bbox.split(","))
    settings = QgsMapSettings()
    settings.setLayers([raster])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setOutputSize(QSize(int(width), int(height)))
    settings.setOutputDpi(96)
    settings.setExtent(QgsRectangle(x0, y0, x1, y1))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(out)
    print("size", image.width(), image.height())
    return 0


if __name__ == "__main__":
    status = main(*sys.argv[1:6])
    sys.stdout.flush()
    os._exit(status)
