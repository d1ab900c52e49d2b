"""GDAL's AGS driver (the ArcGIS REST client in every GDAL) reads maps through the gateway."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.gateway import Gateway, fetch
from tests.pixels import mismatch_fraction, rgba

pytestmark = pytest.mark.client

GDAL_TRANSLATE = shutil.which("gdal_translate") or "/usr/bin/gdal_translate"

AGS_XML = """<GDAL_WMS>
  <Service name="AGS">
    <ServerUrl>{url}</ServerUrl>
    <BBoxOrder>xyXY</BBoxOrder>
    <SRS>{wkid}</SRS>
    <ImageFormat>png</ImageFormat>
    <Layers>{layers}</Layers>
  </Service>
  <DataWindow>
    <UpperLeftX>{x0}</UpperLeftX><UpperLeftY>{y1}</UpperLeftY>
    <LowerRightX>{x1}</LowerRightX><LowerRightY>{y0}</LowerRightY>
    <SizeX>{width}</SizeX><SizeY>{height}</SizeY>
  </DataWindow>
  <Projection>{projection}</Projection>
  <BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>
  <BandsCount>3</BandsCount>
</GDAL_WMS>
"""


def gdal_read(tmp_path: Path, xml: str, window: tuple[float, float, float, float], size: tuple[int, int]
              ) -> np.ndarray:
    source = tmp_path / "service.xml"
    source.write_text(xml)
    out = tmp_path / "out.tif"
    x0, y0, x1, y1 = window
    subprocess.run(
        [GDAL_TRANSLATE, "-q", "-projwin", str(x0), str(y1), str(x1), str(y0), "-outsize", str(size[0]),
         str(size[1]), str(source), str(out)],
        check=True, timeout=120, env={"GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"},
    )
    with rasterio.open(out) as dataset:
        assert dataset.count == 3
        bands = dataset.read()
    return np.dstack([*bands, np.full(bands.shape[1:], 255, dtype=np.uint8)])


def test_gdal_ags_reads_the_raster_at_full_resolution(gateway: Gateway, mapserver: FastCgiBackend,
                                                      tmp_path: Path) -> None:
    xml = AGS_XML.format(url=gateway.services_url("ms/World"), wkid=4326, layers="show:2", x0=-180, y0=-90,
                         x1=180, y1=90, width=1440, height=720, projection="EPSG:4326")
    window = (-20.0, 30.0, 40.0, 70.0)
    image = gdal_read(tmp_path, xml, window, (240, 160))
    # every cell centre has the data colour
    for c in range(36):
        for r in range(18):
            lon, lat = ds.rgb_cell_centre(c, r)
            if window[0] < lon < window[2] and window[1] < lat < window[3]:
                col, row = int((lon - window[0]) * 4), int((window[3] - lat) * 4)
                assert tuple(image[row, col, :3]) == ds.rgb_colour_at(lon, lat)
    # and the whole picture equals what MapServer draws for the same window
    reply = fetch(mapserver.url, {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": "rgb",
                                  "STYLES": "", "SRS": "EPSG:4326", "BBOX": "-20,30,40,70", "WIDTH": "240",
                                  "HEIGHT": "160", "FORMAT": "image/png"})
    assert mismatch_fraction(image, rgba(reply.body), tol=0) < 0.01


def test_gdal_ags_in_web_mercator(gateway: Gateway, mapserver: FastCgiBackend, tmp_path: Path) -> None:
    half = 20037508.342789244
    xml = AGS_XML.format(url=gateway.services_url("qgis/World"), wkid=102100, layers="show:0,1,2", x0=-half,
                         y0=-half, x1=half, y1=half, width=4096, height=4096, projection="EPSG:3857")
    window = (-2000000.0, 4000000.0, 4000000.0, 9000000.0)
    image = gdal_read(tmp_path, xml, window, (300, 250))
    reply = fetch(mapserver.url, {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap",
                                  "LAYERS": "rgb,regions,cities", "STYLES": ",,", "SRS": "EPSG:3857",
                                  "BBOX": ",".join(str(v) for v in window), "WIDTH": "300", "HEIGHT": "250",
                                  "FORMAT": "image/png"})
    # QGIS draws the same data as MapServer (resampling differs a little at cell edges).
    assert mismatch_fraction(image, rgba(reply.body), tol=10) < 0.05
