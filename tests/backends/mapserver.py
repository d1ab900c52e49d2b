"""Write the MapServer 8 mapfile (from ``arcbridge.map.in``) and the config file that MapServer 8 requires."""

from __future__ import annotations

from pathlib import Path
from string import Template

from tests.backends import dataspec as ds

TEMPLATE = Path(__file__).resolve().with_name("arcbridge.map.in")
MAP_ALIAS = "arcbridge"
"""``?map=arcbridge`` selects the test map too (the plain URL serves it through ``MS_MAPFILE``)."""


def _nums(values: tuple[float, ...] | tuple[int, ...]) -> str:
    return " ".join(f"{v:g}" for v in values)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


TEMPCOV_DATE_LAYER = Template("""\
  LAYER
    NAME "$name"
    TYPE RASTER
    STATUS ON
    DATA "$file"
    PROJECTION "init=epsg:4326" END
    PROCESSING "SCALE=$display_range"
    PROCESSING "RESAMPLE=NEAREST"
    TEMPLATE "query"
    TOLERANCE 0.001
    TOLERANCEUNITS DD
    METADATA
      "wms_title"              "Temperature coverage $date"
      "wms_abstract"           "$abstract"
      "wms_include_items"      "all"
      "wms_attribution_title"  "$attribution"
      "wcs_label"              "Temperature coverage $date"
      "wcs_description"        "$abstract"
      "wcs_extent"             "$extent"
      "wcs_resolution"         "$res $res"
      "wcs_size"               "$size"
      "wcs_bandcount"          "1"
      "wcs_imagemode"          "FLOAT32"
      "wcs_formats"            "GEOTIFF_FLOAT32"
      "wcs_nativeformat"       "GTiff"
      "wcs_native_format"      "image/tiff"
      "wcs_rangeset_name"      "temperature"
      "wcs_rangeset_label"     "Temperature"
      "wcs_rangeset_nullvalue" "$nodata"
      "wcs_band_names"         "temperature"
    END
  END
""")


def _tempcov_date_layers() -> str:
    return "\n".join(
        TEMPCOV_DATE_LAYER.substitute(
            name=ds.TEMP_COVERAGE_LAYERS[date],
            file=ds.temp_coverage_file(date),
            date=date,
            abstract=_quote(f"Float32 of {date}: {1000 * i} + col + 0.5 * row, nodata {ds.TEMP_COVERAGE_NODATA:g}"),
            attribution=_quote(ds.ATTRIBUTION),
            display_range=",".join(f"{v:g}" for v in ds.TEMP_COVERAGE_DISPLAY_RANGE),
            extent=_nums(ds.TEMP_COVERAGE_EXTENT),
            res=f"{ds.TEMP_COVERAGE_RES:g}",
            size=_nums(ds.TEMP_COVERAGE_SIZE),
            nodata=f"{ds.TEMP_COVERAGE_NODATA:g}",
        )
        for i, date in enumerate(ds.TEMP_COVERAGE_DATES)
    )


def mapfile_text(data_dir: Path) -> str:
    """The mapfile for data in ``data_dir``."""
    values = {
        "DATA_DIR": str(Path(data_dir).resolve()),
        "ROOT_LAYER_NAME": ds.ROOT_LAYER_NAME,
        "MAP_TITLE": _quote(ds.MAP_TITLE),
        "MAP_ABSTRACT": _quote(ds.MAP_ABSTRACT),
        "ATTRIBUTION": _quote(ds.ATTRIBUTION),
        "ACCESS_CONSTRAINTS": _quote(ds.ACCESS_CONSTRAINTS),
        "WMS_CRS": " ".join(ds.WMS_CRS),
        "RGB_FILE": ds.FILES["rgb"],
        "REGIONS_FILE": ds.FILES["regions"],
        "CITIES_FILE": ds.FILES["cities"],
        "EVENTS_FILE": ds.FILES["events"],
        "TEMPERATURE_INDEX_FILE": ds.FILES["temperature_index"],
        "DEM_FILE": ds.FILES["dem"],
        "MULTIBAND_FILE": ds.FILES["multiband"],
        "TEMPERATURE_EXTENT": _nums(ds.TEMPERATURE_EXTENT),
        "TEMPERATURE_TIME_EXTENT": ds.TEMPERATURE_TIME_EXTENT,
        "TEMPERATURE_DEFAULT_DATE": ds.TEMPERATURE_DEFAULT_DATE,
        "EVENTS_TIME_EXTENT": ds.EVENTS_TIME_EXTENT,
        "DEM_NODATA": f"{ds.DEM_NODATA:g}",
        "DEM_EXTENT": _nums(ds.DEM_EXTENT),
        "DEM_RES": f"{ds.DEM_RES:g}",
        "DEM_SIZE": _nums(ds.DEM_SIZE),
        "DEM_DISPLAY_RANGE": ",".join(f"{v:g}" for v in ds.DEM_DISPLAY_RANGE),
        "MULTIBAND_EXTENT": _nums(ds.MULTIBAND_EXTENT),
        "MULTIBAND_RES": f"{ds.MULTIBAND_RES:g}",
        "MULTIBAND_SIZE": _nums(ds.MULTIBAND_SIZE),
        "MULTIBAND_DISPLAY_RANGE": ",".join(f"{v:g}" for v in ds.MULTIBAND_DISPLAY_RANGE),
        "MULTIBAND_BAND_NAMES": " ".join(ds.MULTIBAND_BAND_NAMES),
        "COLOUR_A": _nums(ds.REGION_COLOURS["A"]),
        "COLOUR_B": _nums(ds.REGION_COLOURS["B"]),
        "COLOUR_CAPITAL": _nums(ds.CITY_COLOURS["capital"]),
        "COLOUR_TOWN": _nums(ds.CITY_COLOURS["town"]),
        "COLOUR_EVENT": _nums(ds.EVENT_COLOUR),
        "SYMBOL_SIZE_PX": str(ds.SYMBOL_SIZE_PX),
        "TEMPCOV_DATE_LAYERS": _tempcov_date_layers(),
        "TEMPCOV_INDEX_FILE": ds.FILES["tempcov_index"],
        "TEMPCOV_TIME_NAME": ds.TEMP_COVERAGE_TIME_NAME,
        "TEMPCOV_EXTENT": _nums(ds.TEMP_COVERAGE_EXTENT),
        "TEMPCOV_RES": f"{ds.TEMP_COVERAGE_RES:g}",
        "TEMPCOV_SIZE": _nums(ds.TEMP_COVERAGE_SIZE),
        "TEMPCOV_NODATA": f"{ds.TEMP_COVERAGE_NODATA:g}",
        "TEMPCOV_DISPLAY_RANGE": ",".join(f"{v:g}" for v in ds.TEMP_COVERAGE_DISPLAY_RANGE),
        "TEMPCOV_TIME_EXTENT": ds.TEMP_COVERAGE_TIME_EXTENT,
        "TEMPCOV_TIME_POSITIONS": ",".join(ds.TEMP_COVERAGE_DATES),
        "TEMPCOV_DEFAULT_DATE": ds.TEMP_COVERAGE_DEFAULT_DATE,
        "RGBCOV_FILE": ds.FILES["rgbcov"],
        "RGBCOV_EXTENT": _nums(ds.RGBCOV_EXTENT),
        "RGBCOV_RES": f"{ds.RGBCOV_RES:g}",
        "RGBCOV_SIZE": _nums(ds.RGBCOV_SIZE),
        "RGBCOV_BAND_NAMES": " ".join(ds.RGBCOV_BAND_NAMES),
        "BANDS4_FILE": ds.FILES["bands4"],
        "BANDS4_EXTENT": _nums(ds.BANDS4_EXTENT),
        "BANDS4_RES": f"{ds.BANDS4_RES:g}",
        "BANDS4_SIZE": _nums(ds.BANDS4_SIZE),
        "BANDS4_NODATA": str(ds.BANDS4_NODATA),
        "BANDS4_BAND_NAMES": " ".join(ds.BANDS4_BAND_NAMES),
        "BANDS_NAMED": ds.BANDS_NAMED_COVERAGE,
        "BANDS4_DISPLAY_BANDS": ",".join(str(b) for b in ds.BANDS4_DISPLAY_BANDS),
        "BANDS4_DISPLAY_RANGE": ",".join(f"{v:g}" for v in ds.BANDS4_DISPLAY_RANGE),
    }
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(values)


def write_mapfile(data_dir: Path) -> Path:
    """Write ``arcbridge.map`` into ``data_dir`` and return its path."""
    path = Path(data_dir) / ds.FILES["mapfile"]
    path.write_text(mapfile_text(data_dir), encoding="utf-8")
    return path


def config_text(mapfile: Path) -> str:
    """MapServer 8 config file: no paths in ``map=``, errors to stderr, one alias; no MS_MAPFILE.

    ``MS_MAPFILE`` is deliberately absent: set in the config it would override the FastCGI parameter that nginx passes.
    """
    return (
        "CONFIG\n"
        "  ENV\n"
        '    MS_MAP_NO_PATH "1"\n'
        '    MS_ERRORFILE "stderr"\n'
        "  END\n"
        "  MAPS\n"
        f'    {MAP_ALIAS.upper()} "{Path(mapfile).resolve()}"\n'
        "  END\n"
        "END\n"
    )


def write_config(data_dir: Path) -> Path:
    """Write ``mapserver.conf`` (pointing at the mapfile in ``data_dir``) and return its path."""
    data_dir = Path(data_dir)
    path = data_dir / ds.FILES["mapserver_config"]
    path.write_text(config_text(data_dir / ds.FILES["mapfile"]), encoding="utf-8")
    return path
