"""Real clients of the ImageServer: GDAL's AGS driver over exportImage, Esri Leaflet imageMapLayer in Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer

from tests.backends import dataspec as ds
from tests.clients.harness.chromium import Chromium
from tests.clients.harness.pages import WebPages, leaflet_grid_bbox_3857, png_to_rgba, wait_map_loaded
from tests.gateway import Gateway, fetch

pytestmark = pytest.mark.client

GDAL_TRANSLATE = shutil.which("gdal_translate") or "/usr/bin/gdal_translate"
AGS_XML = """<GDAL_WMS>
  <Service name="AGS">
    <ServerUrl>{url}/exportImage?</ServerUrl>
    <BBoxOrder>xyXY</BBoxOrder>
    <SRS>4326</SRS>
    <ImageFormat>tiff</ImageFormat>
  </Service>
  <DataWindow>
    <UpperLeftX>0</UpperLeftX><UpperLeftY>50</UpperLeftY><LowerRightX>10</LowerRightX><LowerRightY>40</LowerRightY>
    <SizeX>500</SizeX><SizeY>500</SizeY>
  </DataWindow>
  <Projection>EPSG:4326</Projection>
  <BlockSizeX>128</BlockSizeX><BlockSizeY>128</BlockSizeY>
  <BandsCount>1</BandsCount>
  <DataType>Float32</DataType>
</GDAL_WMS>
"""


@pytest.mark.parametrize("service", ["img/Elevation", "img/ElevationQ"])
def test_gdal_ags_reads_elevation_values(gateway: Gateway, tmp_path: Path, service: str) -> None:
    source = tmp_path / "image.xml"
    source.write_text(AGS_XML.format(url=gateway.services_url(service, "ImageServer")))
    out = tmp_path / "dem.tif"
    subprocess.run([GDAL_TRANSLATE, "-q", "-srcwin", "300", "0", "150", "120", str(source), str(out)], check=True,
                   timeout=120, env={"PATH": "/usr/bin:/bin", "GDAL_HTTP_TIMEOUT": "60"})
    with rasterio.open(out) as dataset:
        values = dataset.read(1)
        left, top = dataset.bounds.left, dataset.bounds.top
    assert values.shape == (120, 150)
    assert (left, top) == pytest.approx((6.0, 50.0))
    for row in range(0, 120, 7):
        for col in range(0, 150, 7):
            assert values[row, col] == ds.dem_value_at(300 + col, row)


async def test_esri_leaflet_image_map_layer(chromium: Chromium, web_pages: WebPages, gateway: Gateway) -> None:
    service = gateway.services_url("img/Elevation", "ImageServer")
    info = fetch(service, {"f": "json"}).json()
    low, high = info["minValues"][0], info["maxValues"][0]
    bbox = leaflet_grid_bbox_3857((800_000.0, 5_300_000.0), 2445.98490512564, (400, 300))  # around 7°E 43°N
    page = await chromium.new_page(400, 300)
    await page.goto(web_pages.leaflet_image(service, bbox))
    await wait_map_loaded(page, timeout=60)
    (export,) = page.requests_to("/ImageServer/exportImage")
    assert export.status == 200 and export.params["format"] == "jpgpng"
    shot = png_to_rgba(await page.screenshot())
    inverse = Transformer.from_crs(3857, 4326, always_xy=True)
    checked = mismatched = 0
    for row in range(5, 300, 10):
        for col in range(5, 400, 10):
            x = bbox[0] + (col + 0.5) * (bbox[2] - bbox[0]) / 400
            y = bbox[3] - (row + 0.5) * (bbox[3] - bbox[1]) / 300
            lon, lat = inverse.transform(x, y)
            if not (0 < lon < 10 and 40 < lat < 50):
                assert tuple(shot[row, col, :3]) == (255, 255, 255)  # outside the coverage: the white page
                continue
            value = ds.dem_value(lon, lat)
            # nodata is transparent over the white page
            nodata = value == ds.DEM_NODATA
            expected = 255 if nodata else int(np.floor((value - low) * 255 / (high - low) + 0.5))
            checked += 1
            mismatched += abs(int(shot[row, col, 0]) - expected) > 3
    assert checked > 300 and mismatched / checked < 0.03
