"""The Services Directory in headless Chromium and over HTTP: breadcrumbs, links, JSON/PJSON links, forms that
submit to their operation (an operation called without its required parameters in f=html shows its form), and the
"View in a map" page drawing the service with the Leaflet and Esri Leaflet builds the gateway serves itself."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.backends import dataspec as ds
from tests.backends.servers import FastCgiBackend
from tests.clients.harness.chromium import Chromium, Page
from tests.clients.harness.pages import png_to_rgba, wait_map_loaded
from tests.gateway import Gateway, fetch
from tests.pixels import mismatch_fraction, rgba

pytestmark = pytest.mark.client

SHOTS = Path(os.environ.get("ARCBRIDGE_SCREENSHOTS", "/tmp/arcbridge-directory-shots"))


def hrefs(page: str) -> list[str]:
    return re.findall(r"href='([^']+)'", page)


async def shot(page: Page, name: str) -> Any:
    png = await page.screenshot()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"{name}.png").write_bytes(png)
    return png_to_rgba(png)


def test_pages_link_the_tree(gateway: Gateway) -> None:
    root = fetch(gateway.url + "/arcgis/rest/services").body.decode()
    assert f"{gateway.url}/arcgis/rest/services/ms" in hrefs(root)  # folders
    assert f"{gateway.url}/arcgis/rest/services/Plain/MapServer" in hrefs(root)  # services at the root
    folder = fetch(gateway.url + "/arcgis/rest/services/ms").body.decode()
    assert gateway.services_url("ms/World") in hrefs(folder)
    service = fetch(gateway.services_url("ms/World")).body.decode()
    links = hrefs(service)
    base = gateway.services_url("ms/World")
    for href in (f"{base}/0", f"{base}/export", f"{base}/identify", f"{base}/legend", f"{base}/layers",
                 f"{gateway.url}/arcbridge/viewer/ms/World/MapServer", f"{base}?f=json", f"{base}?f=pjson"):
        assert href in links, href
    assert "Home</a> &gt; ms/World (MapServer)" in service  # breadcrumbs
    layer = fetch(base + "/0").body.decode()
    assert f"{base}/0/query" in hrefs(layer) and "ms/World (MapServer)</a> &gt; 0" in layer
    image = fetch(gateway.services_url("img/Elevation", "ImageServer")).body.decode()
    assert gateway.services_url("img/Elevation", "ImageServer") + "/exportImage" in hrefs(image)
    for href in hrefs(service) + hrefs(layer) + hrefs(root):  # every link leads somewhere
        if href.startswith(gateway.url) and "/arcgis/services/" not in href:  # SOAP: POST only
            assert fetch(href).status == 200, href


@pytest.mark.parametrize(("path", "kind", "field"), [
    ("ms/World", "MapServer/export", "bbox"), ("img/Elevation", "ImageServer/exportImage", "bbox"),
    ("ms/World", "MapServer/identify", "geometry"), ("img/Elevation", "ImageServer/identify", "geometry"),
    ("ms/World", "MapServer/0/query", "where"), ("ms/World", "MapServer/legend", "dynamicLayers"),
])
def test_operations_without_parameters_show_their_form(gateway: Gateway, path: str, kind: str, field: str) -> None:
    url = f"{gateway.url}/arcgis/rest/services/{path}/{kind}"
    reply = fetch(url)
    assert reply.status == 200 and reply.content_type == "text/html"
    text = reply.body.decode()
    assert f"<form class='operation' method='get' action='{url}'" in text and f"name='{field}'" in text
    assert fetch(url, {"f": "json"}).status in (200, 400)  # JSON callers still get the ArcGIS answer or error


async def test_export_form_submits_and_shows_the_picture(chromium: Chromium, gateway: Gateway) -> None:
    page = await chromium.new_page(900, 1100)
    await page.goto(gateway.services_url("ms/World") + "/export")
    await shot(page, "export-form")
    await page.evaluate("document.querySelector('#field-bbox').value = '-21.5,30,40,70';"
                        "document.querySelector('#field-size').value = '400,300';"
                        "document.querySelector('form.operation button').click()")
    await page.wait_for("document.querySelector('img[alt=\"exported map\"]')?.complete === true", timeout=60)
    # blank fields are left out of the URL
    assert await page.evaluate("location.search") == "?bbox=-21.5%2C30%2C40%2C70&size=400%2C300&format=png&f=html"
    width = await page.evaluate("document.querySelector('img[alt=\"exported map\"]').naturalWidth")
    assert width == 400
    # the form is shown again, prefilled, above the answer
    assert await page.evaluate("document.querySelector('#field-bbox').value") == "-21.5,30,40,70"
    await shot(page, "export-answer")
    assert page.exceptions == []


async def test_query_form_in_the_browser(chromium: Chromium, gateway: Gateway) -> None:
    page = await chromium.new_page(900, 1100)
    await page.goto(gateway.services_url("ms/World") + "/0/query")
    await page.evaluate("document.querySelector('#field-where').value = '1=1';"
                        "document.querySelector('#field-outFields').value = '*';"
                        "document.querySelector('form.operation button').click()")
    await page.wait_for("document.querySelector('details pre') !== null", timeout=60)
    text = await page.evaluate("document.querySelector('details pre').textContent")
    assert '"features"' in text
    cells = await page.evaluate("[...document.querySelectorAll('table.records td')].map(td => td.textContent)")
    assert {c.name for c in ds.CITIES} <= set(cells)  # the features as a table of their attributes
    await shot(page, "query-answer")


async def test_viewer_draws_the_service(chromium: Chromium, gateway: Gateway, mapserver: FastCgiBackend) -> None:
    page = await chromium.new_page(800, 600)
    await page.goto(gateway.services_url("ms/World"))
    await page.evaluate("[...document.querySelectorAll('a')].find(a => a.textContent === 'View in a map').click()")
    await page.wait_for("location.pathname.startsWith('/arcbridge/viewer/')", timeout=30)
    state = await wait_map_loaded(page, timeout=60)
    assert state["errors"] == []
    exports = page.requests_to("/MapServer/export")
    assert exports and all(r.status == 200 for r in exports), page.diagnostics()
    scripts = [r.url for r in page.requests_to(".js")]
    assert all(url.startswith(gateway.url + "/arcbridge/static/") for url in scripts), scripts
    await check_drawn(page, exports[-1], "viewer-ms-world")


async def check_drawn(page: Page, export: Any, name: str) -> None:
    """The map area shows the picture the gateway exports for the view (where it is opaque: Leaflet's grey
    elsewhere)."""
    assert export.params["f"] == "image" and export.params["size"] == "800,536", export.params
    drawn = await map_area(page, await shot(page, name))
    expected = rgba(fetch(export.url).body)
    assert expected.shape == drawn.shape
    opaque = expected[:, :, 3] == 255
    assert opaque.mean() > 0.3  # the layer covers much of the view
    assert mismatch_fraction(drawn[opaque][None, :, :], expected[opaque][None, :, :], tol=3) < 0.03
    assert page.exceptions == []


async def map_area(page: Page, pixels: Any) -> Any:
    """The screenshot's pixels inside the map's element."""
    box = await page.evaluate("(() => { const r = document.getElementById('map').getBoundingClientRect();"
                              " return [r.left, r.top, r.width, r.height]; })()")
    left, top, width, height = (int(v) for v in box)
    return pixels[top:top + height, left:left + width]


async def test_viewer_draws_an_image_service(chromium: Chromium, gateway: Gateway) -> None:
    page = await chromium.new_page(800, 600)
    await page.goto(f"{gateway.url}/arcbridge/viewer/img/RGB/ImageServer")
    state = await wait_map_loaded(page, timeout=60)
    assert state["errors"] == []
    exports = page.requests_to("/ImageServer/exportImage")
    assert exports and all(r.status == 200 for r in exports), page.diagnostics()
    await check_drawn(page, exports[-1], "viewer-img-rgb")


async def test_browse_from_home_to_a_layer(chromium: Chromium, gateway: Gateway) -> None:
    page = await chromium.new_page(900, 900)
    await page.goto(gateway.url + "/")  # redirected to the services directory's home
    await shot(page, "home")

    async def follow(text: str) -> None:
        before = await page.evaluate("location.href")
        found = await page.evaluate(f"(() => {{ const a = [...document.querySelectorAll('a')]"
                                    f".find(a => a.textContent === {text!r}); if (a) a.click(); return !!a; }})()")
        assert found, (text, await page.evaluate("document.body.innerText"))
        await page.wait_for(f"location.href !== {before!r} && document.readyState === 'complete'", timeout=30)

    await follow("Folder: ms")
    await follow("ms/World (MapServer)")
    await shot(page, "service-ms-world")
    assert await page.evaluate("document.title") == "ms/World (MapServer)"
    await follow("Layer: cities (0)")
    await shot(page, "layer-ms-world-0")
    assert await page.evaluate("location.pathname") == "/arcgis/rest/services/ms/World/MapServer/0"
    await follow("JSON")
    assert await page.evaluate("location.search") == "?f=json"
    assert page.exceptions == []
