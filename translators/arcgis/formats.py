"""ArcGIS image formats and the ``f=`` outputs that export and exportImage both answer.

``format`` names the picture (png, jpg, pdf …: :data:`FORMATS`); ``f`` names how it is delivered: the bytes
(``image``), a JSON or HTML description with an ``href`` to stored bytes (``json``/``pjson``/``html``), or a KMZ
ground overlay (``kmz``, whose picture is always drawn in WGS 84 in a format Google Earth reads).
"""

from __future__ import annotations

from dataclasses import dataclass

from translators.errors import InvalidParameter, UnsupportedParameter
from translators.params import Params

OUTPUTS = ("html", "json", "pjson", "image", "kmz")
KMZ_CONTENT_TYPE = "application/vnd.google-earth.kmz"
_KMZ_FORMATS = ("png", "png8", "png24", "png32", "jpg", "gif")
_BROWSER_FORMATS = ("png", "jpg", "gif", "bmp")


@dataclass(frozen=True)
class ImageFormat:
    """An ArcGIS export format: the backend MIME types that can be passed through, and how to answer it."""

    name: str
    extension: str
    content_type: str
    passthrough: tuple[str, ...]  # backend MIME types whose bytes are already the answer
    raster: bool  # can be produced locally from pixels
    supports_transparency: bool


_SVG_TYPES = ("image/svg+xml", "image/svg xml", "image/svg")
FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        ImageFormat("png", "png", "image/png", ("image/png",), True, True),
        ImageFormat("png8", "png", "image/png", (), True, True),
        ImageFormat("png24", "png", "image/png", (), True, True),
        ImageFormat("png32", "png", "image/png", (), True, True),
        ImageFormat("jpg", "jpg", "image/jpeg", ("image/jpeg",), True, False),
        ImageFormat("gif", "gif", "image/gif", (), True, True),
        ImageFormat("bmp", "bmp", "image/bmp", ("image/bmp",), True, False),
        ImageFormat("tiff", "tif", "image/tiff", (), True, True),
        ImageFormat("pdf", "pdf", "application/pdf", ("application/pdf",), True, False),
        ImageFormat("svg", "svg", "image/svg+xml", _SVG_TYPES, False, True),
        ImageFormat("svgz", "svgz", "image/svg+xml", _SVG_TYPES, False, True),
    )
}
NOT_OFFERED = ("emf", "ps")  # formats of the spec that no backend draws and that cannot be made from pixels


def parse_format(params: Params) -> ImageFormat:
    """The export ``format`` (default png)."""
    name = (params.get("format") or "png").lower()
    if name in NOT_OFFERED:
        raise UnsupportedParameter("format", f"'{name}' output is not available from this service")
    fmt = FORMATS.get(name)
    if fmt is None:
        raise InvalidParameter("format", f"'{name}' is not one of {', '.join(FORMATS)}")
    return fmt


def parse_output(params: Params) -> str:
    """The ``f`` of an image operation (default html)."""
    output = (params.get("f") or "html").lower()
    if output not in OUTPUTS:
        raise InvalidParameter("f", f"'{output}' is not one of {', '.join(OUTPUTS)}")
    return output


def kmz_params(params: Params) -> Params:
    """The parameters of an ``f=kmz`` answer: a KML ground overlay carries an image in WGS 84 and one of the formats
    Google Earth reads (PNG with alpha unless the client chose another such format); the rest is kept."""
    values = {name: params.get(name) or "" for name in params.names()}
    values["imagesr"] = "4326"
    if (values.get("format") or "").lower() not in _KMZ_FORMATS:
        values["format"] = "png32"
    return Params(values)


def shown_in_browser(extension: str) -> bool:
    """Whether an ``f=html`` page can show the stored picture inline."""
    return extension in _BROWSER_FORMATS
