"""aiohttp's own refusals (before any handler runs) are ArcGIS error JSON with code = status."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from proxy.app import create_app
from proxy.settings import parse_settings

SETTINGS = {"services": {"a/World": {"type": "MapServer", "backend": {"url": "http://127.0.0.1:9/ows"}}}}


async def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("request_bytes", [
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",  # TLS sent to the plain port
    b"FOO\x01 / HTTP/1.1\r\nHost: x\r\n\r\n",  # not a method
    b"GET /arcgis/rest/info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # broken framing
    b"GET / HTTP/9.9.9\r\n\r\n",
])
async def test_refusals_of_the_http_parser_are_arcgis_json(request_bytes: bytes) -> None:
    server = TestServer(create_app(parse_settings(SETTINGS)))
    await server.start_server()
    try:
        assert server.port is not None
        status, headers, body = await raw(server.port, request_bytes)
    finally:
        await server.close()
    assert 400 <= status < 500
    assert headers["content-type"].startswith("application/json")
    error: dict[str, Any] = json.loads(body)["error"]
    assert error["code"] == status and error["message"]
