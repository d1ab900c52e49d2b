"""The reference of the local-warp benchmark: GDAL's warper timed in-process (run by Debian's /usr/bin/python3).

    /usr/bin/python3 benchmarks/gdal_warp.py SRC.tif EPSG:3395 XMIN YMIN XMAX YMAX WIDTH HEIGHT [THREADS]

Reads one line per run from stdin and answers each with the wall time in milliseconds of one
``gdal.Warp`` (``gdalwarp -t_srs … -te … -ts … -r near -ot Float32``): open the source GeoTIFF, warp, write a GeoTIFF
into ``/vsimem``. Timing in-process leaves out the start of a ``gdalwarp`` process (loading GDAL, PROJ and their
databases: ~100 ms here, which would flatter arcbridge). It uses the project's venv for nothing: Debian's
``python3-gdal`` provides ``osgeo``.  ``THREADS`` (default 1) is the warper's thread count: the benchmark passes the
gateway's own (``translators.raster.io.WARP_THREADS``), so both sides warp with the same threads.
"""

import sys
import time

from osgeo import gdal


def main() -> None:
    src, srs, *rest = sys.argv[1:]
    xmin, ymin, xmax, ymax = (float(v) for v in rest[:4])
    width, height = int(rest[4]), int(rest[5])
    threads = int(rest[6]) if len(rest) > 6 else 1
    gdal.UseExceptions()
    out = "/vsimem/bench-warp.tif"
    for _line in sys.stdin:
        start = time.perf_counter()
        dataset = gdal.Warp(out, src, dstSRS=srs, outputBounds=(xmin, ymin, xmax, ymax), width=width,
                            height=height, resampleAlg="near", outputType=gdal.GDT_Float32, format="GTiff",
                            multithread=threads > 1, warpOptions=[f"NUM_THREADS={threads}"])
        dataset.FlushCache()
        dataset = None
        elapsed = (time.perf_counter() - start) * 1000.0
        gdal.Unlink(out)
        print(f"{elapsed:.3f}", flush=True)


if __name__ == "__main__":
    main()
