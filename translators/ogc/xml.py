"""Safe XML handling for everything a backend sends: no entity expansion, no DTD loading, no network access."""

from __future__ import annotations

from lxml import etree

from translators.errors import BackendError

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True)


def parse_xml(data: bytes, what: str = "document") -> etree._Element:
    """Parse backend XML safely; a malformed document is a :class:`BackendError`."""
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise BackendError(f"The backend returned a malformed {what}.", [str(exc)]) from None
    if root is None:
        raise BackendError(f"The backend returned an empty {what}.")
    return root


def sanitized(data: bytes, what: str = "document") -> bytes:
    """Re-serialise backend XML without its DOCTYPE so that libraries parsing it afterwards see no entities."""
    return etree.tostring(parse_xml(data, what), encoding="utf-8", xml_declaration=True)


def local_name(element: etree._Element) -> str:
    """Return the tag of ``element`` without its namespace."""
    return etree.QName(element).localname


def exception_messages(data: bytes) -> list[str] | None:
    """Return the messages of an OGC ServiceExceptionReport / ows:ExceptionReport, or None if it is not one."""
    head = data.lstrip()[:2048]
    if not head.startswith(b"<"):
        return None
    if b"Exception" not in head and b"exception" not in head:
        return None
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError:
        return None
    if root is None or "exception" not in local_name(root).lower():
        return None
    messages: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = local_name(element)
        if name in ("ServiceException", "ExceptionText"):
            text = " ".join((element.text or "").split())
            parent = element.getparent()
            code = element.get("code") or (parent.get("exceptionCode") if parent is not None else None)
            messages.append(f"{code}: {text}" if code else text)
    return messages or ["The backend returned an exception report."]
