"""aiohttp's own refusals, answered as ArcGIS error JSON like every other failure.

What aiohttp's HTTP parser cannot read — bytes that are not HTTP, a method it does not know, broken chunked framing,
a body encoding it cannot decode, a line beyond its limits — is refused before any middleware runs, by
``RequestHandler.handle_error``, as a ``text/plain`` page.  aiohttp's ``Server`` makes one ``RequestHandler`` per
connection from the module global it imports; :func:`install` points that global at a subclass whose
``handle_error`` keeps aiohttp's logging and its "already sent" check and answers ArcGIS JSON with code = status.
"""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web, web_protocol, web_request, web_server

from proxy.respond import error_for_status, error_response


class ArcGISRequestHandler(web_protocol.RequestHandler):
    """aiohttp's connection handler, with its error page in ArcGIS error JSON."""

    def handle_error(self, request: web_request.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """The refusal as ArcGIS error JSON; the connection is closed after it, as aiohttp does."""
        super().handle_error(request, status, exc, message)  # logs, and refuses when an answer was half sent
        response = error_response(error_for_status(status, _reason(status)), None)
        response.force_close()
        return response


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Bad Request"


def install() -> None:
    """Make aiohttp's servers in this process answer their own refusals as ArcGIS JSON (idempotent)."""
    web_server.RequestHandler = ArcGISRequestHandler  # type: ignore[attr-defined,misc]
