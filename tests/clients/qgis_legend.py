"""Draw the legend of one ArcGIS MapServer layer with QGIS's own ArcGIS provider (``arcgismapserver``), headless.

Run by Debian's ``/usr/bin/python3`` (the QGIS Python bindings live there, not in the venv)::

    python3 tests/clients/qgis_legend.py <MapServer URL> <layer id> <out.png>

QGIS fetches ``<url>/legend?f=json`` (``QgsAmsLegendFetcher``), decodes each entry's ``imageData`` and draws the
entries with their labels into one image, which is saved to ``out.png``.  Prints ``size <w> <h>`` or
``error <message>``; exit status 0 only when an image was drawn.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsRasterLayer
from qgis.PyQt.QtCore import QEventLoop, QTimer


def main(url: str, layer: str, out: str) -> int:
    """Fetch and save the legend; return the exit status."""
    app = QgsApplication([], False)
    app.setPrefixPath("/usr", True)
    app.initQgis()  # never exitQgis(): 3.22 crashes (SIGSEGV) on it in a headless run; __main__ ends with _exit
    raster = QgsRasterLayer(f"crs='EPSG:4326' format='PNG32' layer='{layer}' url='{url}'", "legend",
                            "arcgismapserver")
    if not raster.isValid():
        print("error", raster.error().summary())
        return 1
    fetcher = raster.dataProvider().getLegendGraphicFetcher(None)
    loop = QEventLoop()
    result: dict[str, object] = {}
    fetcher.finish.connect(lambda image: (result.setdefault("image", image), loop.quit()))
    fetcher.error.connect(lambda message: (result.setdefault("error", message), loop.quit()))
    fetcher.start()
    QTimer.singleShot(60_000, loop.quit)
    loop.exec_()
    image = result.get("image")
    if image is None:
        print("error", result.get("error", "timed out"))
        return 1
    image.save(out)
    print("size", image.width(), image.height())
    return 0


if __name__ == "__main__":
    status = main(*sys.argv[1:4])
    sys.stdout.flush()
    os._exit(status)
