import json
from tests.gateway import fetch
def test_dbg(gateway):
    for svc in ("img/Elevation", "img/ElevationQ", "img/Bands", "img/TimeWCS", "img/TimeSeriesQ", "img/RGB"):
        r = fetch(gateway.services_url(svc, "ImageServer"), {"f": "json"})
        d = r.json()
        print(svc, r.status, {k: d.get(k) for k in ("bandCount","pixelType","pixelSizeX","extent","noDataValue","minValues","maxValues","serviceDataType","timeInfo","error","bandNames")})
