"""The SOAP types arcbridge speaks, as one table: it generates the WSDL's schema and orders every answer.

The names, element order and occurrences follow ArcGIS Server's ``MapServer.wsdl`` (10.x) for the subset arcbridge
implements; the schema is unqualified (only the operation wrappers are in the target namespace), as Esri's is.
Where a real client cannot send back what it was answered, a field is optional here although Esri's is required:
``DefinitionExpression`` (zeep reads the empty expression of a default layer description as absent).  A field is
``"Name:type"``; a trailing ``?`` makes it optional, ``*`` repeatable; a capitalised type is one of
:data:`TYPES` (or :data:`ENUMS`), a lower-case one an XML Schema type.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_NAMESPACE = "http://www.esri.com/schemas/ArcGIS/10.7"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"


@dataclass(frozen=True)
class Field:
    """One element of a complex type's sequence."""

    name: str
    type: str
    optional: bool
    repeated: bool

    @property
    def builtin(self) -> bool:
        """Whether the type is an XML Schema type (``string``, ``double`` …)."""
        return self.type[0].islower()


@dataclass(frozen=True)
class ComplexType:
    """A complex type: its base (its fields come first), whether it is abstract, its own fields."""

    base: str | None
    abstract: bool
    own: tuple[Field, ...]


def _field(spec: str) -> Field:
    name, kind = spec.split(":")
    optional, repeated = kind.endswith(("?", "*")), kind.endswith("*")
    return Field(name, kind.rstrip("?*"), optional, repeated)


def _t(fields: str = "", base: str | None = None, abstract: bool = False) -> ComplexType:
    return ComplexType(base, abstract, tuple(_field(s) for s in fields.split()))


_SR = ("WKT:string? XOrigin:double? YOrigin:double? XYScale:double? ZOrigin:double? ZScale:double? MOrigin:double? "
       "MScale:double? XYTolerance:double? ZTolerance:double? MTolerance:double? HighPrecision:boolean? "
       "LeftLongitude:double? WKID:int? LatestWKID:int? VCSWKID:int? LatestVCSWKID:int?")
_LAYER_INFO = (
    "LayerID:int Name:string Description:string LayerType:string SourceDescription:string HasLabels:boolean "
    "CanSelect:boolean CanScaleSymbols:boolean MinScale:double MaxScale:double Extent:Envelope? "
    "HasHyperlinks:boolean HasAttributes:boolean CanIdentify:boolean CanFind:boolean IsFeatureLayer:boolean "
    "DisplayField:string IDField:string IsComposite:boolean SubLayerIDs:ArrayOfInt? ParentLayerID:int "
    "FieldAliases:ArrayOfString? CopyrightText:string SupportsTime:boolean? HasAttachments:boolean? "
    "SupportsStatistics:boolean? SupportsAdvancedQueries:boolean?")
_LAYER_DESCRIPTION = (
    "LayerID:int Visible:boolean ShowLabels:boolean ScaleSymbols:boolean SelectionFeatures:ArrayOfInt? "
    "SelectionColor:Color? SelectionSymbol:Symbol? SetSelectionSymbol:boolean SelectionBufferDistance:double "
    "ShowSelectionBuffer:boolean DefinitionExpression:string? SourceID:string? SelectionBufferSymbol:FillSymbol? "
    "UseTime:boolean? TimeDataCumulative:boolean? TimeOffset:double? TimeOffsetUnits:esriTimeUnits?")
_MAP_DESCRIPTION = (
    "Name:string MapArea:MapArea? LayerDescriptions:ArrayOfLayerDescription? Rotation:double "
    "SpatialReference:SpatialReference? TransparentColor:Color? SelectionColor:Color? BackgroundSymbol:FillSymbol? "
    "TimeValue:TimeValue? HonorLayerReordering:boolean? TimeRelation:esriTimeRelation?")
_SERVER_INFO = (
    "Name:string Description:string FullExtent:Envelope? Extent:Envelope? SpatialReference:SpatialReference? "
    "MapLayerInfos:ArrayOfMapLayerInfo? BackgroundColor:Color? DefaultMapDescription:MapDescription? "
    "Units:esriUnits SupportedImageReturnTypes:esriImageReturnType BackgroundSymbol:FillSymbol? "
    "CopyrightText:string FullTimeExtent:TimeExtent? SupportsDynamicLayers:boolean? HasLiveData:boolean? "
    "MinScale:double? MaxScale:double?")

TYPES: dict[str, ComplexType] = {
    "Geometry": _t(),
    "Envelope": _t(base="Geometry", abstract=True),
    "EnvelopeN": _t("XMin:double YMin:double XMax:double YMax:double ZMin:double? ZMax:double? MMin:double? "
                    "MMax:double? SpatialReference:SpatialReference?", "Envelope"),
    "Point": _t(base="Geometry", abstract=True),
    "PointN": _t("X:double Y:double M:double? Z:double? ID:int? SpatialReference:SpatialReference?", "Point"),
    "SpatialReference": _t(_SR, abstract=True),
    "GeographicCoordinateSystem": _t(base="SpatialReference"),
    "ProjectedCoordinateSystem": _t(base="SpatialReference"),
    "UnknownCoordinateSystem": _t(base="SpatialReference"),
    "Color": _t("UseWindowsDithering:boolean? AlphaValue:unsignedByte?", abstract=True),
    "RgbColor": _t("Red:unsignedByte Green:unsignedByte Blue:unsignedByte", "Color"),
    "Symbol": _t(abstract=True),
    "LineSymbol": _t("Color:Color? Width:double", "Symbol", abstract=True),
    "SimpleLineSymbol": _t("Style:esriSimpleLineStyle", "LineSymbol"),
    "FillSymbol": _t("Color:Color? Outline:LineSymbol?", "Symbol", abstract=True),
    "SimpleFillSymbol": _t("Style:esriSimpleFillStyle", "FillSymbol"),
    "MapArea": _t("Extent:Envelope?", abstract=True),
    "MapExtent": _t(base="MapArea"),
    "CenterAndScale": _t("Center:Point? Scale:double DPI:double? DevBottom:int? DevLeft:int? DevTop:int? "
                         "DevRight:int?", "MapArea"),
    "ArrayOfInt": _t("Int:int*"),
    "ArrayOfString": _t("String:string*"),
    "TimeValue": _t(),
    "TimeInstant": _t("Time:dateTime", "TimeValue"),
    "TimeExtent": _t("StartTime:dateTime? EndTime:dateTime? Empty:boolean?", "TimeValue"),
    "LayerDescription": _t(_LAYER_DESCRIPTION),
    "ArrayOfLayerDescription": _t("LayerDescription:LayerDescription*"),
    "MapDescription": _t(_MAP_DESCRIPTION),
    "ImageType": _t("ImageFormat:esriImageFormat ImageReturnType:esriImageReturnType"),
    "ImageDisplay": _t("ImageHeight:int ImageWidth:int ImageDPI:double TransparentColor:Color?"),
    "ImageDescription": _t("ImageType:ImageType? ImageDisplay:ImageDisplay?"),
    "MapImage": _t("ImageData:base64Binary? ImageURL:string Extent:Envelope? VisibleLayerIDs:ArrayOfInt? "
                   "MapScale:double ImageHeight:int ImageWidth:int ImageDPI:double ImageType:string?"),
    "MapLayerInfo": _t(_LAYER_INFO),
    "ArrayOfMapLayerInfo": _t("MapLayerInfo:MapLayerInfo*"),
    "MapServerInfo": _t(_SERVER_INFO),
    "PropertySetProperty": _t("Key:string Value:anyType?"),
    "ArrayOfPropertySetProperty": _t("PropertySetProperty:PropertySetProperty*"),
    "PropertySet": _t("PropertyArray:ArrayOfPropertySetProperty"),
    "ImageResult": _t("ImageData:base64Binary? ImageURL:string ImageHeight:int ImageWidth:int ImageDPI:double "
                      "ImageType:string?"),
    "MapServerLegendClass": _t("Label:string Description:string SymbolImage:ImageResult? TransparentColor:Color?"),
    "ArrayOfMapServerLegendClass": _t("MapServerLegendClass:MapServerLegendClass*"),
    "MapServerLegendGroup": _t("Heading:string LegendClasses:ArrayOfMapServerLegendClass?"),
    "ArrayOfMapServerLegendGroup": _t("MapServerLegendGroup:MapServerLegendGroup*"),
    "MapServerLegendInfo": _t("LayerID:int Name:string LegendGroups:ArrayOfMapServerLegendGroup?"),
    "ArrayOfMapServerLegendInfo": _t("MapServerLegendInfo:MapServerLegendInfo*"),
    "MapServerLegendPatch": _t("Width:double Height:double ImageDPI:double"),
    "ServiceDescription": _t("Name:string TypeName:string Url:string Capabilities:string? "
                             "ParentType:string? SupportedExtensions:string?"),
    "ArrayOfServiceDescription": _t("ServiceDescription:ServiceDescription*"),
}

ENUMS: dict[str, tuple[str, ...]] = {
    "esriImageFormat": tuple("esriImage" + s for s in (
        "None", "BMP", "JPG", "DIB", "TIFF", "PNG", "PNG24", "EMF", "PS", "PDF", "AI", "GIF", "SVG", "PNG32",
        "JPGPNG")),
    "esriImageReturnType": ("esriImageReturnURL", "esriImageReturnMimeData"),
    "esriUnits": ("esriUnknownUnits", "esriInches", "esriPoints", "esriFeet", "esriYards", "esriMiles",
                  "esriNauticalMiles", "esriMillimeters", "esriCentimeters", "esriMeters", "esriKilometers",
                  "esriDecimalDegrees", "esriDecimeters"),
    "esriSimpleFillStyle": ("esriSFSSolid", "esriSFSNull", "esriSFSHorizontal", "esriSFSVertical",
                            "esriSFSForwardDiagonal", "esriSFSBackwardDiagonal", "esriSFSCross",
                            "esriSFSDiagonalCross"),
    "esriSimpleLineStyle": ("esriSLSSolid", "esriSLSDash", "esriSLSDot", "esriSLSDashDot", "esriSLSDashDotDot",
                            "esriSLSNull", "esriSLSInsideFrame"),
    "esriTimeUnits": tuple("esriTimeUnits" + s for s in (
        "Unknown", "Milliseconds", "Seconds", "Minutes", "Hours", "Days", "Weeks", "Months", "Years", "Decades",
        "Centuries")),
    "esriTimeRelation": ("esriTimeRelationOverlaps", "esriTimeRelationOverlapsStartWithinEnd",
                         "esriTimeRelationAfterStartOverlapsEnd"),
    "esriArcGISVersion": ("esriArcGISVersion83", "esriArcGISVersion90", "esriArcGISVersion92",
                          "esriArcGISVersion93", "esriArcGISVersion10"),
    "esriServiceCatalogMessageFormat": ("esriServiceCatalogMessageFormatBin",
                                        "esriServiceCatalogMessageFormatSoap",
                                        "esriServiceCatalogMessageFormatSoapOrBin"),
}


def fields(type_name: str) -> tuple[Field, ...]:
    """Every field of a type in sequence order: its base's first (an extension appends to its base)."""
    found = TYPES[type_name]
    return (fields(found.base) if found.base else ()) + found.own


def is_subtype(type_name: str, ancestor: str) -> bool:
    """Whether ``type_name`` is ``ancestor`` or derives from it."""
    current: str | None = type_name
    while current is not None:
        if current == ancestor:
            return True
        current = TYPES[current].base if current in TYPES else None
    return False
