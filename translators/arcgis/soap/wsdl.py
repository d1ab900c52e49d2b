"""The WSDL documents arcbridge serves: ``…/MapServer?wsdl`` and the catalog's ``…/services?wsdl``.

Generated from :data:`schema.TYPES` and the operation tables below, so they describe exactly what arcbridge
answers; the port's ``soap:address`` is the public URL of the endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lxml import etree

from translators.arcgis.soap.schema import DEFAULT_NAMESPACE, ENUMS, TYPES, XS, fields

WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
Operation = tuple[str, str]  # the request's and the answer's fields ("Name:type …", as in the schema table)

MAPSERVER_OPERATIONS: dict[str, Operation] = {
    "GetDefaultMapName": ("", "Result:string"),
    "GetMapCount": ("", "Result:int"),
    "GetMapName": ("Index:int", "Result:string"),
    "GetServerInfo": ("MapName:string", "Result:MapServerInfo"),
    "GetDocumentInfo": ("", "Result:PropertySet"),
    "GetSupportedImageReturnTypes": ("", "Result:esriImageReturnType"),
    "HasSingleFusedMapCache": ("MapName:string", "Result:boolean"),
    "IsFixedScaleMap": ("MapName:string", "Result:boolean"),
    "GetLegendInfo": ("MapName:string LayerIDs:ArrayOfInt LegendPatch:MapServerLegendPatch ImageType:ImageType",
                      "Result:ArrayOfMapServerLegendInfo"),
    "ExportMapImage": ("MapDescription:MapDescription ImageDescription:ImageDescription", "Result:MapImage"),
}
CATALOG_OPERATIONS: dict[str, Operation] = {
    "GetMessageVersion": ("", "Result:esriArcGISVersion"),
    "GetMessageFormats": ("", "Result:esriServiceCatalogMessageFormat"),
    "GetFolders": ("", "Result:ArrayOfString"),
    "GetServiceDescriptions": ("", "Result:ArrayOfServiceDescription"),
    "GetServiceDescriptionsEx": ("FolderName:string", "Result:ArrayOfServiceDescription"),
    "RequiresTokens": ("", "Result:boolean"),
    "GetTokenServiceURL": ("", "Result:string"),
}
CATALOG_TYPES = ("ArrayOfString", "ServiceDescription", "ArrayOfServiceDescription")
CATALOG_ENUMS = ("esriArcGISVersion", "esriServiceCatalogMessageFormat")


def _qualified(type_name: str) -> str:
    return f"xs:{type_name}" if type_name[0].islower() and not type_name.startswith("esri") else f"tns:{type_name}"


def _sequence(parent: etree._Element, specs: Sequence[str]) -> None:
    sequence = etree.SubElement(parent, f"{{{XS}}}sequence")
    for spec in specs:
        name, kind = spec.split(":")
        element = etree.SubElement(sequence, f"{{{XS}}}element", name=name, type=_qualified(kind.rstrip("?*")))
        if kind.endswith(("?", "*")):
            element.set("minOccurs", "0")
        if kind.endswith("*"):
            element.set("maxOccurs", "unbounded")


def _complex(schema: etree._Element, name: str) -> None:
    found = TYPES[name]
    element = etree.SubElement(schema, f"{{{XS}}}complexType", name=name)
    if found.abstract:
        element.set("abstract", "true")
    specs = [f"{f.name}:{f.type}{'*' if f.repeated else '?' if f.optional else ''}" for f in found.own]
    if found.base is None:
        _sequence(element, specs)
        return
    content = etree.SubElement(element, f"{{{XS}}}complexContent")
    extension = etree.SubElement(content, f"{{{XS}}}extension", base=f"tns:{found.base}")
    _sequence(extension, specs)


def _schema(parent: etree._Element, tns: str, types: Sequence[str], enums: Sequence[str],
            operations: Mapping[str, Operation]) -> None:
    schema = etree.SubElement(parent, f"{{{XS}}}schema", targetNamespace=tns)
    for name in types:
        _complex(schema, name)
    for name in enums:
        simple = etree.SubElement(schema, f"{{{XS}}}simpleType", name=name)
        restriction = etree.SubElement(simple, f"{{{XS}}}restriction", base="xs:string")
        for value in ENUMS[name]:
            etree.SubElement(restriction, f"{{{XS}}}enumeration", value=value)
    for operation, (request, answer) in operations.items():
        for name, specs in ((operation, request), (f"{operation}Response", answer)):
            element = etree.SubElement(schema, f"{{{XS}}}element", name=name)
            _sequence(etree.SubElement(element, f"{{{XS}}}complexType"), specs.split())


def _document(service: str, port: str, url: str, types: Sequence[str], enums: Sequence[str],
              operations: Mapping[str, Operation], tns: str) -> bytes:
    root = etree.Element(f"{{{WSDL}}}definitions", nsmap={"wsdl": WSDL, "soap": WSDL_SOAP, "xs": XS, "tns": tns},
                         targetNamespace=tns)
    _schema(etree.SubElement(root, f"{{{WSDL}}}types"), tns, types, enums, operations)
    for operation in operations:
        for suffix, kind in (("In", ""), ("Out", "Response")):
            message = etree.SubElement(root, f"{{{WSDL}}}message", name=f"{operation}{suffix}")
            etree.SubElement(message, f"{{{WSDL}}}part", name="parameters", element=f"tns:{operation}{kind}")
    port_type = etree.SubElement(root, f"{{{WSDL}}}portType", name=f"{port}Port")
    binding = etree.SubElement(root, f"{{{WSDL}}}binding", name=f"{port}Binding", type=f"tns:{port}Port")
    etree.SubElement(binding, f"{{{WSDL_SOAP}}}binding", style="document",
                     transport="http://schemas.xmlsoap.org/soap/http")
    for operation in operations:
        abstract = etree.SubElement(port_type, f"{{{WSDL}}}operation", name=operation)
        etree.SubElement(abstract, f"{{{WSDL}}}input", message=f"tns:{operation}In")
        etree.SubElement(abstract, f"{{{WSDL}}}output", message=f"tns:{operation}Out")
        bound = etree.SubElement(binding, f"{{{WSDL}}}operation", name=operation)
        etree.SubElement(bound, f"{{{WSDL_SOAP}}}operation", soapAction="", style="document")
        for direction in ("input", "output"):
            etree.SubElement(etree.SubElement(bound, f"{{{WSDL}}}{direction}"), f"{{{WSDL_SOAP}}}body",
                             use="literal")
    service_element = etree.SubElement(root, f"{{{WSDL}}}service", name=service)
    port_element = etree.SubElement(service_element, f"{{{WSDL}}}port", name=f"{port}Port",
                                    binding=f"tns:{port}Binding")
    etree.SubElement(port_element, f"{{{WSDL_SOAP}}}address", location=url)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))


def mapserver_wsdl(short_name: str, url: str, tns: str = DEFAULT_NAMESPACE) -> bytes:
    """``…/MapServer?wsdl``: service ``<Name>_MapServer``, port ``MapServerPort``, at ``url``."""
    types = [name for name in TYPES if name not in CATALOG_TYPES or name == "ArrayOfString"]
    enums = [name for name in ENUMS if name not in CATALOG_ENUMS]
    return _document(f"{short_name}_MapServer", "MapServer", url, types, enums, MAPSERVER_OPERATIONS, tns)


def catalog_wsdl(url: str, tns: str = DEFAULT_NAMESPACE) -> bytes:
    """``…/services?wsdl``: the ``ServiceCatalog`` that ArcMap browses before it opens a MapServer."""
    return _document("Catalog", "ServiceCatalog", url, CATALOG_TYPES, CATALOG_ENUMS, CATALOG_OPERATIONS, tns)


def answer_fields(operations: Mapping[str, Operation], operation: str) -> tuple[str, str]:
    """The ``(name, type)`` of an operation's result element."""
    name, kind = operations[operation][1].split(":")
    return name, kind


__all__ = ["CATALOG_OPERATIONS", "MAPSERVER_OPERATIONS", "answer_fields", "catalog_wsdl", "fields",
           "mapserver_wsdl"]
