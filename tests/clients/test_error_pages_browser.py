"""Errors met while browsing the Services Directory in headless Chromium are pages of the directory: a form
submitted with a mistake, an unknown service typed in the address bar, a backend that is down.  Screenshots in
``$ARCBRIDGE_SCREENSHOTS`` (default ``/tmp/arcbridge-directory-shots``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.clients.harness.chromium import Chromium, Page
from tests.gateway import Gateway

pytestmark = pytest.mark.client

SHOTS = Path(os.environ.get("ARCBRIDGE_SCREENSHOTS", "/tmp/arcbridge-directory-shots"))


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"{name}.png").write_bytes(await page.screenshot())


async def cells(page: Page) -> dict[str, str]:
    """The error table's cells by class (code, message, details)."""
    found: dict[str, str] = await page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('table.error td[class]')]"
        ".map(td => [td.className, td.innerText]))")
    return found


def document_status(page: Page, path: str) -> int | None:
    """The HTTP status of the last document the page loaded from ``path``."""
    loaded = [r for r in page.requests_to(path) if r.resource_type == "Document"]
    return loaded[-1].status if loaded else None


async def test_a_mistake_in_a_form_shows_an_error_page(chromium: Chromium, gateway: Gateway) -> None:
    page = await chromium.new_page(900, 900)
    await page.goto(gateway.services_url("ms/World") + "/export")
    await page.evaluate("document.querySelector('#field-bbox').value = '10,20,thirty';"
                        "document.querySelector('form.operation button').click()")
    await page.wait_for("document.title.startsWith('Error')", timeout=30)
    await shot(page, "error-export-bbox")
    assert document_status(page, "/MapServer/export") == 400
    shown = await cells(page)
    assert shown["code"] == "400" and "'bbox'" in shown["message"], shown
    crumbs = await page.evaluate("document.getElementById('breadcrumbs').innerText")
    assert crumbs.replace("\u00a0", " ") == "Home > ms/World (MapServer) > export"
    # the form is there again, with the mistake, to be corrected
    assert await page.evaluate("document.querySelector('#field-bbox').value") == "10,20,thirty"
    await page.evaluate("[...document.querySelectorAll('p.formats a')].find(a => a.textContent === 'JSON').click()")
    await page.wait_for("location.search.endsWith('f=json')", timeout=30)
    body = await page.evaluate("JSON.parse(document.body.innerText)")
    assert body["error"]["code"] == 400 and body["error"]["message"] == shown["message"]
    assert page.exceptions == []


async def test_an_unknown_service_typed_in_the_address_bar(chromium: Chromium, gateway: Gateway) -> None:
    page = await chromium.new_page(900, 600)
    await page.goto(gateway.url + "/arcgis/rest/services/ms/Nowhere/MapServer")  # no f: the browser wants a page
    await page.wait_for("document.readyState === 'complete'", timeout=30)
    await shot(page, "error-unknown-service")
    assert document_status(page, "/ms/Nowhere/MapServer") == 404
    assert (await cells(page))["code"] == "404"
    await page.evaluate("document.querySelector('#breadcrumbs a').click()")  # Home works
    await page.wait_for("location.pathname === '/arcgis/rest/services' && document.readyState === 'complete'",
                        timeout=30)
    assert "Folder: ms" in await page.evaluate("document.body.innerText")


async def test_a_backend_down_is_a_502_page(chromium: Chromium, gateway: Gateway) -> None:
    page = await chromium.new_page(900, 600)
    await page.goto(gateway.services_url("bad/down") + "?f=html")
    await page.wait_for("document.title.startsWith('Error')", timeout=30)
    await shot(page, "error-backend-down")
    assert document_status(page, "/bad/down/MapServer") == 502
    shown = await cells(page)
    assert shown["code"] == "502" and shown.get("details"), shown
