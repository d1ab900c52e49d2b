"""Write the test data described in :mod:`tests.backends.dataspec`, plus the MapServer mapfile and QGIS project.

``generate(data_dir)`` writes everything (about a second, most of it QGIS start-up); a stamp file holding a hash of
the generator sources makes a second call on an up-to-date directory a no-op.

    python -m tests.backends.generate DIR
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import Affine

from tests.backends import dataspec as ds
from tests.backends import mapserver

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with the qgis bindings (python3-qgis)
QGIS_BINDINGS = "/usr/lib/python3/dist-packages/qgis"
STAMP = ".arcbridge-data"


def _sources_hash() -> str:
    h = hashlib.sha256()
    for name in ("dataspec.py", "generate.py", "mapserver.py", "arcbridge.map.in", "qgis_project.py"):
        path = HERE / name
        h.update(path.read_bytes() if path.is_file() else b"")
    return h.hexdigest()[:16]


def is_current(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds data written by the current generator."""
    stamp = Path(data_dir) / STAMP
    return stamp.is_file() and stamp.read_text().strip() == _sources_hash()


def qgis_available() -> bool:
    """Whether Debian's Python with the ``qgis`` bindings is installed."""
    return Path(SYSTEM_PYTHON).is_file() and Path(QGIS_BINDINGS).is_dir()


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    with open(data_dir / ".lock", "w") as lock:  # two `serve` processes may share a data dir
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def generate(data_dir: Path | str, *, qgis: bool | None = None, force: bool = False) -> Path:
    """Write all data files, the mapfile and the QGIS project into ``data_dir``; return it (resolved).

    ``qgis=None`` writes the QGIS project when PyQGIS is installed, ``True`` requires it, ``False`` skips it.
    Data written by the current generator is left alone unless ``force``. Servers already running on the directory
    keep old datasets open: restart them after regenerating.
    """
    data_dir = Path(data_dir).resolve()
    if qgis is None:
        qgis = qgis_available()
    data_dir.mkdir(parents=True, exist_ok=True)
    with _locked(data_dir):
        if not force and is_current(data_dir) and (not qgis or (data_dir / ds.FILES["qgis_project"]).is_file()):
            return data_dir
        (data_dir / STAMP).unlink(missing_ok=True)
        write_rasters(data_dir)
        write_vectors(data_dir)
        mapserver.write_mapfile(data_dir)
        mapserver.write_config(data_dir)
        if qgis:
            write_qgis_project(data_dir)
        (data_dir / STAMP).write_text(_sources_hash() + "\n")
    return data_dir


# ------------------------------------------------------------------------------------------------------ rasters
def _write_tif(path: Path, data: np.ndarray, west: float, north: float, res: float, **extra: object) -> None:
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": "EPSG:4326",
        "transform": Affine(res, 0.0, west, 0.0, -res, north),  # not from_origin(): it warns (Affine *)
        **({"tiled": True, "blockxsize": 256, "blockysize": 256} if data.shape[2] >= 512 else {}),
        **extra,
    }
    descriptions = profile.pop("descriptions", None)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if descriptions:
            dst.descriptions = descriptions


def rgb_array() -> np.ndarray:
    """The ``rgb`` raster as a (3, 720, 1440) uint8 array."""
    w, h = ds.RGB_SIZE
    per_cell = int(ds.RGB_CELL / ds.RGB_RES)
    c = np.arange(w) // per_cell
    r = np.arange(h) // per_cell
    out = np.empty((3, h, w), dtype=np.uint8)
    out[0] = (7 * c + 3)[None, :]
    out[1] = (14 * r + 3)[:, None]
    out[2] = 200
    return out


def dem_array() -> np.ndarray:
    """The ``dem`` raster as a (1, rows, cols) float32 array."""
    w, h = ds.DEM_SIZE
    col = np.arange(w, dtype=np.float64)[None, :]
    row = np.arange(h, dtype=np.float64)[:, None]
    out = (100.0 + 2.0 * col - 0.5 * row).astype(np.float32)
    c0, c1, r0, r1 = ds.DEM_NODATA_BLOCK
    out[r0:r1, c0:c1] = ds.DEM_NODATA
    return out[None]


def multiband_array() -> np.ndarray:
    """The ``multiband`` raster as a (3, rows, cols) int16 array."""
    w, h = ds.MULTIBAND_SIZE
    col = np.arange(w, dtype=np.int32)[None, :]
    row = np.arange(h, dtype=np.int32)[:, None]
    out = np.empty((3, h, w), dtype=np.int16)
    out[0] = 10 * col
    out[1] = 10 * row
    out[2] = col - row - 100
    return out


def temp_coverage_array(date_index: int) -> np.ndarray:
    """The ``tempcov`` raster of ``TEMP_COVERAGE_DATES[date_index]`` as a (1, rows, cols) float32 array."""
    w, h = ds.TEMP_COVERAGE_SIZE
    col = np.arange(w, dtype=np.float64)[None, :]
    row = np.arange(h, dtype=np.float64)[:, None]
    out = (1000.0 * date_index + col + 0.5 * row).astype(np.float32)
    c0, c1, r0, r1 = ds.TEMP_COVERAGE_NODATA_BLOCK
    out[r0:r1, c0:c1] = ds.TEMP_COVERAGE_NODATA
    return out[None]


def rgbcov_array() -> np.ndarray:
    """The ``rgbcov`` raster (a crop of ``rgb``) as a (3, rows, cols) uint8 array."""
    c0 = round((ds.RGBCOV_EXTENT[0] - ds.RGB_EXTENT[0]) / ds.RGB_RES)
    r0 = round((ds.RGB_EXTENT[3] - ds.RGBCOV_EXTENT[3]) / ds.RGB_RES)
    w, h = ds.RGBCOV_SIZE
    return np.ascontiguousarray(rgb_array()[:, r0 : r0 + h, c0 : c0 + w])


def bands4_array() -> np.ndarray:
    """The ``bands4`` raster as a (4, rows, cols) int16 array: blue, green, red, nir."""
    w, h = ds.BANDS4_SIZE
    col = np.broadcast_to(np.arange(w, dtype=np.int32)[None, :], (h, w))
    row = np.broadcast_to(np.arange(h, dtype=np.int32)[:, None], (h, w))
    red = 1200 + 6 * row
    nir = np.where(col < 50, red // 3, np.where(col < 100, red, 3 * red))
    out = np.stack([100 + 2 * col, 300 + 3 * row, red, nir]).astype(np.int16)
    c0, c1, r0, r1 = ds.BANDS4_NODATA_BLOCK
    out[:, r0:r1, c0:c1] = ds.BANDS4_NODATA
    return out


def write_rasters(data_dir: Path) -> None:
    """Write rgb, temperature_*, dem, multiband, tempcov_*, rgbcov and bands4 GeoTIFFs."""
    _write_tif(data_dir / ds.FILES["rgb"], rgb_array(), ds.RGB_EXTENT[0], ds.RGB_EXTENT[3], ds.RGB_RES)

    west, south, east, north = ds.TEMPERATURE_EXTENT
    tw, th = round((east - west) / ds.TEMPERATURE_RES), round((north - south) / ds.TEMPERATURE_RES)
    for date in ds.TEMPERATURE_DATES:
        arr = np.empty((3, th, tw), dtype=np.uint8)
        arr[:] = np.array(ds.TEMPERATURE_COLOURS[date], dtype=np.uint8)[:, None, None]
        _write_tif(data_dir / ds.temperature_file(date), arr, west, north, ds.TEMPERATURE_RES)

    _write_tif(
        data_dir / ds.FILES["dem"], dem_array(), ds.DEM_EXTENT[0], ds.DEM_EXTENT[3], ds.DEM_RES, nodata=ds.DEM_NODATA
    )
    _write_tif(
        data_dir / ds.FILES["multiband"],
        multiband_array(),
        ds.MULTIBAND_EXTENT[0],
        ds.MULTIBAND_EXTENT[3],
        ds.MULTIBAND_RES,
        descriptions=ds.MULTIBAND_BAND_NAMES,
    )

    west, _, _, north = ds.TEMP_COVERAGE_EXTENT
    for i, date in enumerate(ds.TEMP_COVERAGE_DATES):
        _write_tif(data_dir / ds.temp_coverage_file(date), temp_coverage_array(i), west, north, ds.TEMP_COVERAGE_RES,
                   nodata=ds.TEMP_COVERAGE_NODATA, descriptions=("temperature",))  # fmt: skip
    _write_tif(data_dir / ds.FILES["rgbcov"], rgbcov_array(), ds.RGBCOV_EXTENT[0], ds.RGBCOV_EXTENT[3], ds.RGBCOV_RES,
               photometric="RGB", descriptions=ds.RGBCOV_BAND_NAMES)  # fmt: skip
    _write_tif(data_dir / ds.FILES["bands4"], bands4_array(), ds.BANDS4_EXTENT[0], ds.BANDS4_EXTENT[3],
               ds.BANDS4_RES, nodata=ds.BANDS4_NODATA, descriptions=ds.BANDS4_BAND_NAMES)  # fmt: skip


# ------------------------------------------------------------------------------------------------------ vectors
def _rect(b: ds.BBox) -> dict[str, object]:
    x0, y0, x1, y1 = b
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _point(lon: float, lat: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _write_geojson(path: Path, name: str, features: list[dict[str, object]]) -> None:
    doc = {"type": "FeatureCollection", "name": name, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def write_vectors(data_dir: Path) -> None:
    """Write regions, cities, events and the temperature and tempcov tile indexes as GeoJSON (EPSG:4326, lon/lat)."""
    _write_geojson(
        data_dir / ds.FILES["regions"],
        "regions",
        [
            {
                "type": "Feature",
                "properties": {
                    "id": r.id,
                    "name": r.name,
                    "category": r.category,
                    "population": r.population,
                    "established": r.established,
                },
                "geometry": _rect(r.bbox),
            }
            for r in ds.REGIONS
        ],
    )
    _write_geojson(
        data_dir / ds.FILES["cities"],
        "cities",
        [
            {
                "type": "Feature",
                "properties": {"id": c.id, "name": c.name, "category": c.category, "pop": c.pop},
                "geometry": _point(c.lon, c.lat),
            }
            for c in ds.CITIES
        ],
    )
    _write_geojson(
        data_dir / ds.FILES["events"],
        "events",
        [
            {
                "type": "Feature",
                "properties": {"id": e.id, "name": e.name, "date": e.date},
                "geometry": _point(e.lon, e.lat),
            }
            for e in ds.EVENTS
        ],
    )
    _write_geojson(
        data_dir / ds.FILES["temperature_index"],
        "temperature_index",
        [
            {
                "type": "Feature",
                "properties": {"location": ds.temperature_file(d), "date": d},
                "geometry": _rect(ds.TEMPERATURE_EXTENT),
            }
            for d in ds.TEMPERATURE_DATES
        ],
    )
    _write_geojson(
        data_dir / ds.FILES["tempcov_index"],
        "tempcov_index",
        [
            {
                "type": "Feature",
                "properties": {"location": ds.temp_coverage_file(d), "date": d},
                "geometry": _rect(ds.TEMP_COVERAGE_EXTENT),
            }
            for d in ds.TEMP_COVERAGE_DATES
        ],
    )


# --------------------------------------------------------------------------------------------------------- QGIS
def write_qgis_project(data_dir: Path) -> Path:
    """Write the QGIS project with Debian's Python (PyQGIS); see :mod:`tests.backends.qgis_project`."""
    out = data_dir / ds.FILES["qgis_project"]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "GDAL_PAM_ENABLED": "NO",  # no .aux.xml statistics next to the data
        "HOME": str(data_dir / ".qgis-home"),
        "XDG_RUNTIME_DIR": str(data_dir / ".qgis-home" / "run"),
    }
    (data_dir / ".qgis-home" / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-m", "tests.backends.qgis_project", str(data_dir), str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"writing the QGIS project failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("backend-data")
    print(generate(target, force="--force" in sys.argv))
