"""Rendering answers: JSON / pretty JSON / JSONP / HTML, and ArcGIS error documents and SOAP faults — in one place."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aiohttp import web

from translators.arcgis.directory import Where, error_page, page
from translators.arcgis.soap.xml import fault
from translators.errors import (
    ArcGISError,
    HeadersTooLarge,
    InvalidParameter,
    MethodNotAllowed,
    NotFound,
    UriTooLong,
)
from translators.params import Params

_CALLBACK_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")
JSON_FORMATS = ("json", "pjson")


def callback_name(params: Params) -> str | None:
    """The validated JSONP callback, if one was asked for."""
    name = params.get("callback")
    if name is None:
        return None
    if not _CALLBACK_RE.match(name) or len(name) > 128:
        raise InvalidParameter("callback", "must be a JavaScript identifier")
    return name


def json_response(data: Any, params: Params, status: int = 200, pretty: bool = False) -> web.Response:
    """JSON, pretty JSON or JSONP according to ``f`` and ``callback``."""
    text = json.dumps(data, indent=2 if pretty else None, ensure_ascii=False, allow_nan=False)
    # The middleware has refused unusable callbacks before any handler ran.
    callback = callback_name(params)
    if callback:
        return web.Response(text=f"/**/ typeof {callback} === 'function' && {callback}({text});", status=status,
                            content_type="application/javascript", charset="utf-8")
    return web.Response(text=text, status=status, content_type="application/json", charset="utf-8")


# Where the page being answered is in the Services Directory, and its operation's pattern: set by the dispatcher
# for the ArcGIS REST tree, so that handlers answer f=html without knowing about breadcrumbs, links and forms.
PAGE: ContextVar[tuple[Where, str | None] | None] = ContextVar("directory_page", default=None)


def html_page(title: str, data: Any, extra: str = "", params: Params | None = None) -> web.Response:
    """The Services Directory page of a resource (:mod:`translators.arcgis.directory`)."""
    where, pattern = PAGE.get() or (Where("", (), None), None)
    text = page(title, data, where, params or Params({}), pattern, extra)
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def respond(data: Any, params: Params, title: str, default: str = "html", extra_html: str = "") -> web.Response:
    """Answer a resource in the ``f`` the client asked for (json, pjson or html)."""
    fmt = (params.get("f") or default).lower()
    if fmt in JSON_FORMATS:
        return json_response(data, params, pretty=fmt == "pjson")
    if fmt == "html":
        return html_page(title, data, extra_html, params)
    raise InvalidParameter("f", f"'{fmt}' is not one of json, pjson, html")


def error_response(error: ArcGISError, params: Params | None, request: web.Request | None = None) -> web.Response:
    """The error with its HTTP status: a Services Directory page when the call asked for a page (:func:`wants_page`),
    ArcGIS error JSON otherwise (also for f=image, f=kmz … requests)."""
    if request is not None and params is not None and wants_page(params, request.headers.get("Accept")):
        located = PAGE.get()  # None: the call failed before the dispatcher placed it, or is outside the REST tree
        where, pattern = located or (_where_of(request.path), None)
        document = {"code": error.code, "message": error.message, "details": error.details}
        text = error_page(where, document, params, pattern, None if located else request.path)
        return web.Response(text=text, status=error.status, content_type="text/html", charset="utf-8")
    return json_response(error.to_json(), params or Params({}), status=error.status)


def wants_page(params: Params, accept: str | None) -> bool:
    """Whether a failed call is answered as a page: it asked for ``f=html``, or for no ``f`` at all from a browser
    (``Accept: text/html``, as a navigation sends; clients of the REST API name their ``f``)."""
    fmt = params.get("f")
    if fmt is not None:
        return fmt.strip().lower() == "html"
    return accept is not None and "text/html" in accept.lower()


def _where_of(path: str) -> Where:
    """Where a page is when the dispatcher did not say (the call failed before, or is outside the REST tree): base
    URL relative to the host, the segments below ``/arcgis/rest``."""
    parts = [p for p in path.split("/") if p]
    below = parts[2:] if [p.lower() for p in parts[:2]] == ["arcgis", "rest"] else []
    return Where("", tuple(below), None)


def fault_response(error: ArcGISError) -> web.Response:
    """The SOAP 1.1 rendering of an error: HTTP 500 with a ``soap:Fault``, ``soap:Client`` for the caller's mistakes
    (4xx errors) and ``soap:Server`` for the gateway's or the backend's failures."""
    code = "Client" if error.status < 500 else "Server"
    return web.Response(body=fault(code, error.message), status=500, content_type="text/xml", charset="utf-8",
                        headers={"Cache-Control": "no-store"})


def error_for_status(status: int, reason: str) -> ArcGISError:
    """The ArcGIS error of an HTTP status that aiohttp answered by itself."""
    by_status: dict[int, Callable[[], ArcGISError]] = {
        404: NotFound, 405: MethodNotAllowed, 414: UriTooLong, 431: HeadersTooLarge,
        413: lambda: InvalidParameter("body", "the request body is too large"),
    }
    if status in by_status:
        return by_status[status]()
    if 400 <= status < 500:
        return InvalidParameter("request", reason)
    return ArcGISError()
