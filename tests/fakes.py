"""Misbehaving backends for failure tests: a WMS with good capabilities, then hangs, errors or garbage for GetMap;
a proxy that refuses chosen requests to a real backend."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

CAPS = (Path(__file__).parent / "unit" / "data" / "wms130-groups.xml").read_bytes()
EXCEPTION = (b'<?xml version="1.0"?><ServiceExceptionReport version="1.3.0" xmlns="http://www.opengis.net/ogc">'
             b'<ServiceException code="InvalidParameterValue">msWMSLoadGetMapParams(): bad things</ServiceException>'
             b"</ServiceExceptionReport>")
XXE_CAPS = CAPS.replace(
    b'<WMS_Capabilities',
    b'<!DOCTYPE WMS_Capabilities [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n<WMS_Capabilities', 1,
).replace(b"<Title>Test map</Title><Abstract>A map for tests</Abstract>",
          b"<Title>Test map</Title><Abstract>&secret;</Abstract>", 1)
HANG_SECONDS = 8.0


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeWMS/1.0"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        mode = parts.path.strip("/")
        query = {k.upper(): v for k, v in parse_qsl(parts.query)}
        request = query.get("REQUEST", "").lower()
        self.server.requests.append((mode, request))  # type: ignore[attr-defined]
        if request == "getcapabilities":
            if mode == "badcaps":
                self._send(200, "text/xml", b"<html>not capabilities</html>")
            elif mode == "xxe":
                self._send(200, "text/xml", XXE_CAPS)
            else:
                self._send(200, "text/xml", CAPS)
            return
        if mode == "hang":
            time.sleep(HANG_SECONDS)
            self._send(200, "image/png", b"late")
        elif mode == "exception":
            self._send(200, "application/vnd.ogc.se_xml", EXCEPTION)
        elif mode == "garbage":
            self._send(200, "image/png", b"\x89PNG this is not really a png")
        elif mode == "html":
            self._send(200, "text/html", b"<html><body>Proxy error</body></html>")
        elif mode == "error500":
            self._send(500, "text/plain", b"internal error")
        else:
            self._send(404, "text/plain", b"unknown")


class FakeWms:
    """A threaded fake WMS on a free port of 127.0.0.1; ``url(mode)`` gives an endpoint."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.requests = []  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, mode: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/{mode}"

    def __enter__(self) -> FakeWms:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


REFUSAL = (b'<?xml version="1.0" encoding="UTF-8"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/2.0" '
           b'version="2.0.1"><ows:Exception exceptionCode="InvalidParameterValue" locator="%s"><ows:ExceptionText>'
           b"refused by the test proxy</ows:ExceptionText></ows:Exception></ows:ExceptionReport>")


class RefusingProxy:
    """A forwarding proxy in front of a real backend that refuses, as an OGC exception report (HTTP 400, like
    MapServer), every request carrying one of the ``refused`` parameters or ``SERVICE`` values; it records every query
    it receives (upper-cased keys) in ``requests``."""

    def __init__(self, target: str, refused_params: tuple[str, ...] = (), refused_services: tuple[str, ...] = ()):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qsl(urlsplit(self.path).query, keep_blank_values=True)
                upper = {k.upper(): v for k, v in query}
                proxy.requests.append(upper)
                hit = next((k for k in refused_params if k in upper), None)
                if hit is None and upper.get("SERVICE", "").upper() in refused_services:
                    hit = "service"
                if hit is not None:
                    status, ctype, body = 400, "text/xml", REFUSAL % hit.lower().encode()
                else:
                    url = target + ("&" if "?" in target else "?") + urlsplit(self.path).query
                    try:
                        with urllib.request.urlopen(url, timeout=60) as resp:
                            status, ctype, body = resp.status, resp.headers.get("Content-Type", ""), resp.read()
                    except urllib.error.HTTPError as err:
                        status, ctype, body = err.code, err.headers.get("Content-Type", ""), err.read()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.requests: list[dict[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/ows"

    def __enter__(self) -> RefusingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
