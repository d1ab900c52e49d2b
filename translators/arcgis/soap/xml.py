"""Reading SOAP requests safely and writing SOAP answers in schema order.

Requests are read by local element names (clients of ArcGIS 9.0 to 10.x use different namespaces) with a parser
that resolves no entity, loads no DTD, never touches the network and keeps libxml2's depth and size limits; a
document type declaration is refused before parsing (SOAP 1.1 §3 forbids it in a message), which is what stops
XXE and billion-laughs payloads.  Answers are built from plain values by walking :data:`schema.TYPES`, so their
elements always come in sequence order.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from translators.arcgis.soap.schema import XSI, fields, is_subtype
from translators.errors import InvalidParameter

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 48
MAX_ELEMENTS = 100_000
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False,
    "huge_tree": False, "remove_comments": True, "remove_pis": True,
}


def local(tag: object) -> str:
    """The local part of an element name (``{ns}Name`` → ``Name``)."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


@dataclass(frozen=True)
class Call:
    """A SOAP request: the operation (local name), the namespace the client used, and its element."""

    operation: str
    namespace: str
    body: Node


def parse_call(data: bytes) -> Call:
    """The operation a SOAP 1.1 envelope carries; a malformed or hostile one is the caller's mistake."""
    if len(data) > MAX_BYTES:
        raise InvalidParameter("Envelope", f"the request is larger than {MAX_BYTES} bytes")
    if _DOCTYPE.search(data):
        raise InvalidParameter("Envelope", "a SOAP message must not contain a document type declaration")
    try:
        root = etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise InvalidParameter("Envelope", f"not well-formed XML ({exc.msg})") from None
    _check_shape(root)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise InvalidParameter("Envelope", f"expected a SOAP 1.1 soap:Envelope, got '{local(root.tag)}'")
    body = next((c for c in root if c.tag == f"{{{SOAP_ENV}}}Body"), None)
    if body is None:
        raise InvalidParameter("Body", "the envelope has no soap:Body")
    operations = [c for c in body if isinstance(c.tag, str)]
    if len(operations) != 1:
        raise InvalidParameter("Body", "the soap:Body must hold exactly one operation element")
    element = operations[0]
    return Call(local(element.tag), etree.QName(element).namespace or "", Node(element, local(element.tag)))


def _check_shape(root: etree._Element) -> None:
    """Refuse documents nested deeper or with more elements than any ArcGIS request has."""
    depth = count = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            count += 1
            if depth > MAX_DEPTH or count > MAX_ELEMENTS:
                raise InvalidParameter("Envelope", f"the request is nested deeper than {MAX_DEPTH} elements or "
                                                   f"has more than {MAX_ELEMENTS}")
        else:
            depth -= 1


class Node:
    """An element of a request, read by local names; every error names the element's path."""

    def __init__(self, element: etree._Element, path: str) -> None:
        self.element = element
        self.path = path

    def child(self, name: str) -> Node | None:
        """The first child element called ``name`` (any namespace), or None."""
        found = next((c for c in self.element if local(c.tag) == name), None)
        return Node(found, f"{self.path}/{name}") if found is not None else None

    def children(self, name: str) -> list[Node]:
        """Every child element called ``name``."""
        return [Node(c, f"{self.path}/{name}[{i}]") for i, c in enumerate(
            c for c in self.element if local(c.tag) == name)]

    def require(self, name: str) -> Node:
        """The child called ``name``; missing, the caller's mistake."""
        found = self.child(name)
        if found is None:
            raise InvalidParameter(f"{self.path}/{name}", "the element is required")
        return found

    @property
    def text(self) -> str:
        """The element's text, stripped."""
        return (self.element.text or "").strip()

    @property
    def xsi_type(self) -> str | None:
        """The local name of the element's ``xsi:type`` (its prefix is not resolved: names are unique)."""
        value = self.element.get(f"{{{XSI}}}type")
        return value.rsplit(":", 1)[-1] if value else None

    def string(self, name: str, default: str | None = None) -> str | None:
        """A child's text (``default`` when the child is absent)."""
        found = self.child(name)
        return found.text if found is not None else default

    def number(self, name: str, default: float | None = None) -> float | None:
        """A child ``xs:double`` (finite)."""
        found = self.child(name)
        if found is None:
            return default
        try:
            value = float(found.text)
        except ValueError:
            raise InvalidParameter(found.path, f"expected a number, got '{found.text[:50]}'") from None
        if not math.isfinite(value):
            raise InvalidParameter(found.path, "expected a finite number")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        """A child ``xs:int``."""
        found = self.child(name)
        if found is None:
            return default
        try:
            return int(found.text)
        except ValueError:
            raise InvalidParameter(found.path, f"expected an integer, got '{found.text[:50]}'") from None

    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        """A child ``xs:boolean`` (``true``/``false``/``1``/``0``)."""
        found = self.child(name)
        if found is None:
            return default
        if found.text in ("true", "1"):
            return True
        if found.text in ("false", "0"):
            return False
        raise InvalidParameter(found.path, f"expected true or false, got '{found.text[:50]}'")


@dataclass(frozen=True)
class Typed:
    """A value of a derived type, written with its ``xsi:type`` (``EnvelopeN`` for an ``Envelope`` …)."""

    type: str
    value: Mapping[str, Any]


def write(parent: etree._Element, name: str, type_name: str, value: Any, tns: str, typed: bool = False) -> None:
    """Append ``<name>`` holding ``value`` as ``type_name``: a mapping or :class:`Typed` for a complex type (its
    fields in sequence order, absent optional ones left out), a list for an ``ArrayOf…``, else a simple value."""
    element = etree.SubElement(parent, name)
    if isinstance(value, Typed):
        if not is_subtype(value.type, type_name):
            raise ValueError(f"{value.type} is not a {type_name}")
        type_name, value, typed = value.type, value.value, True
    if typed:
        element.set(f"{{{XSI}}}type", f"tns:{type_name}")
    if type_name == "anyType":
        element.set(f"{{{XSI}}}type", "xs:string")
        element.text = _simple(value)
    elif type_name.startswith("ArrayOf"):
        item = fields(type_name)[0]
        for entry in value:
            write(element, item.name, item.type, entry, tns)
    elif isinstance(value, Mapping):
        for field in fields(type_name):
            if field.name in value and value[field.name] is not None:
                write(element, field.name, field.type, value[field.name], tns)
            elif not field.optional:
                raise ValueError(f"{type_name}.{field.name} is required")
    else:
        element.text = _simple(value)


def _simple(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "0"
    return str(value)


def envelope(tns: str, operation: str, result: Sequence[tuple[str, str, Any]]) -> bytes:
    """A SOAP 1.1 answer: ``<tns:<operation>Response>`` holding ``(name, type, value)`` elements, in the
    namespace the request used."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "xsi": XSI, "tns": tns,
                                                            "xs": "http://www.w3.org/2001/XMLSchema"})
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    wrapper = etree.SubElement(body, f"{{{tns}}}{operation}Response")
    for name, type_name, value in result:
        write(wrapper, name, type_name, value, tns, typed=not type_name[0].islower() and
              not type_name.startswith("esri"))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def fault(code: str, message: str) -> bytes:
    """A SOAP 1.1 ``soap:Fault`` (``code`` is ``Client`` or ``Server``)."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    element = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(element, "faultcode").text = f"soap:{code}"
    etree.SubElement(element, "faultstring").text = message
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
