"""The Services Directory's operation forms: which fields each operation's form has, and when a call in ``f=html``
shows its form instead of running (its required parameters are missing), as ArcGIS Server's directory does.

Pure: the fields are a table; :func:`form_html` writes the form, prefilled with the parameters of the call.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from translators.params import Params


@dataclass(frozen=True)
class Field:
    """One input of a form: its parameter, label, and the choices of a ``<select>`` (empty: a text input)."""

    name: str
    label: str
    choices: tuple[str, ...] = ()
    wide: bool = False  # a textarea, for JSON and clauses


@dataclass(frozen=True)
class Form:
    """The form of one operation: its fields, the ``f`` it offers and what must be given for it to run."""

    title: str
    fields: tuple[Field, ...]
    outputs: tuple[str, ...]
    required_any: tuple[str, ...]  # at least one of these, else the form is shown (empty: it always runs)


_IMAGE_OUTPUTS = ("html", "json", "pjson", "image", "kmz")
_FORMATS = ("png", "png8", "png24", "png32", "jpg", "gif", "bmp", "tiff", "pdf", "svg")
_TRUE_FALSE = ("", "true", "false")
_GEOMETRY_TYPES = ("esriGeometryPoint", "esriGeometryEnvelope", "esriGeometryPolygon", "esriGeometryPolyline",
                   "esriGeometryMultipoint")

FORMS: dict[tuple[str, str], Form] = {
    ("mapserver", "export"): Form("Export Map", (
        Field("bbox", "Bounding Box (xmin,ymin,xmax,ymax)"), Field("bboxSR", "Bounding Box Spatial Reference"),
        Field("layers", "Layers (show:0,1)"), Field("layerDefs", "Layer Definitions", wide=True),
        Field("size", "Image Size (width,height)"), Field("imageSR", "Image Spatial Reference"),
        Field("format", "Image Format", _FORMATS), Field("transparent", "Background Transparent", _TRUE_FALSE),
        Field("dpi", "DPI"), Field("time", "Time (ms since epoch: start,end)"),
        Field("dynamicLayers", "Dynamic Layers", wide=True)), _IMAGE_OUTPUTS, ("bbox",)),
    ("imageserver", "exportimage"): Form("Export Image", (
        Field("bbox", "Bounding Box (xmin,ymin,xmax,ymax)"), Field("bboxSR", "Bounding Box Spatial Reference"),
        Field("size", "Image Size (width,height)"), Field("imageSR", "Image Spatial Reference"),
        Field("time", "Time (ms since epoch: start,end)"),
        Field("format", "Format", ("jpgpng", "png", "png8", "png24", "png32", "jpg", "bmp", "gif", "tiff", "bip",
                                   "bsq", "lerc")),
        Field("pixelType", "Pixel Type", ("", "U1", "U2", "U4", "U8", "S8", "U16", "S16", "U32", "S32", "F32",
                                          "F64")),
        Field("noData", "No Data"), Field("interpolation", "Interpolation", (
            "", "RSP_BilinearInterpolation", "RSP_CubicConvolution", "RSP_Majority", "RSP_NearestNeighbor")),
        Field("compression", "Compression"), Field("compressionQuality", "Compression Quality (0-100)"),
        Field("bandIds", "Band IDs (0,1,2)"), Field("mosaicRule", "Mosaic Rule", wide=True),
        Field("renderingRule", "Rendering Rule", wide=True)), _IMAGE_OUTPUTS, ("bbox",)),
    ("mapserver", "identify"): Form("Identify", (
        Field("geometry", "Geometry (x,y or JSON)", wide=True), Field("geometryType", "Geometry Type",
                                                                      _GEOMETRY_TYPES),
        Field("sr", "Spatial Reference"), Field("layerDefs", "Layer Definitions", wide=True),
        Field("time", "Time"), Field("layers", "Layers (all, visible, top: ids)"), Field("tolerance", "Tolerance"),
        Field("mapExtent", "Map Extent (xmin,ymin,xmax,ymax)"), Field("imageDisplay", "Image Display (w,h,dpi)"),
        Field("returnGeometry", "Return Geometry", _TRUE_FALSE), Field("maxAllowableOffset", "Max Allowable Offset"),
        Field("returnFieldName", "Return Field Name", _TRUE_FALSE)), ("html", "json", "pjson"), ("geometry",)),
    ("imageserver", "identify"): Form("Identify", (
        Field("geometry", "Geometry (x,y or JSON)", wide=True), Field("geometryType", "Geometry Type",
                                                                      _GEOMETRY_TYPES),
        Field("mosaicRule", "Mosaic Rule", wide=True), Field("renderingRule", "Rendering Rule", wide=True),
        Field("pixelSize", "Pixel Size"), Field("time", "Time"),
        Field("returnGeometry", "Return Geometry", _TRUE_FALSE)), ("html", "json", "pjson"), ("geometry",)),
    ("mapserver", "*/query"): Form("Query", (
        Field("where", "Where"), Field("text", "Text"), Field("objectIds", "Object IDs"), Field("time", "Time"),
        Field("geometry", "Input Geometry", wide=True), Field("geometryType", "Geometry Type", _GEOMETRY_TYPES),
        Field("inSR", "Input Spatial Reference"), Field("spatialRel", "Spatial Relationship", (
            "esriSpatialRelIntersects", "esriSpatialRelContains", "esriSpatialRelWithin",
            "esriSpatialRelEnvelopeIntersects")),
        Field("outFields", "Out Fields"), Field("returnGeometry", "Return Geometry", ("true", "false")),
        Field("outSR", "Output Spatial Reference"), Field("returnIdsOnly", "Return IDs Only", _TRUE_FALSE),
        Field("returnCountOnly", "Return Count Only", _TRUE_FALSE), Field("orderByFields", "Order By Fields"),
        Field("resultOffset", "Result Offset"), Field("resultRecordCount", "Result Record Count")),
        ("html", "json", "pjson", "geojson"), ("where", "text", "objectIds", "geometry", "time")),
    ("mapserver", "legend"): Form("Legend", (
        Field("dynamicLayers", "Dynamic Layers", wide=True), Field("size", "Size (width,height)"),
        Field("dpi", "DPI")), ("html", "json", "pjson"), ()),
}


def form_of(kind: str, pattern: str) -> Form | None:
    """The form of the operation registered as ``pattern`` of the service type ``kind`` (None: it has none)."""
    return FORMS.get((kind.lower(), pattern.lower()))


def shows_form(form: Form, params: Params) -> bool:
    """Whether a call is answered by its form: asked in ``f=html`` (the default) without what the operation
    needs to run."""
    if (params.get("f") or "html").lower() != "html" or not form.required_any:
        return False
    return not any((params.get(name) or "").strip() for name in form.required_any)


def form_html(form: Form, action: str, params: Params) -> str:
    """The form, submitting to ``action`` by GET, prefilled with ``params``."""
    rows = []
    for field in form.fields:
        given = params.get(field.name) or ""
        name = html.escape(field.name)
        if field.choices:
            options = "".join(f"<option{' selected' if c.lower() == given.lower() else ''}>{html.escape(c)}</option>"
                              for c in field.choices)
            control = f"<select name='{name}' id='field-{name}'>{options}</select>"
        elif field.wide:
            control = f"<textarea name='{name}' id='field-{name}' rows='2' cols='60'>{html.escape(given)}</textarea>"
        else:
            control = f"<input type='text' name='{name}' id='field-{name}' size='60' value='{html.escape(given)}'>"
        label = f"<label for='field-{name}'>{html.escape(field.label)}:</label>"
        rows.append(f"<tr><td>{label}</td><td>{control}</td></tr>")
    wanted = (params.get("f") or "html").lower()
    outputs = "".join(f"<option{' selected' if o == wanted else ''}>{o}</option>" for o in form.outputs)
    rows.append(f"<tr><td><label for='field-f'>Format:</label></td><td><select name='f' id='field-f'>{outputs}"
                "</select></td></tr>")
    # Blank fields are left out of the URL on submit: it then reads like a call a client would make.
    skip_blank = "for (const e of this.elements) if (e.name && !e.value) e.disabled = true"
    return (f"<form class='operation' method='get' action='{html.escape(action)}' onsubmit='{html.escape(skip_blank)}'>"
            f"<h3>{html.escape(form.title)}</h3><table>{''.join(rows)}</table>"
            f"<p><button type='submit'>{html.escape(form.title)} (GET)</button></p></form>")
