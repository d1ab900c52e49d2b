"""Errors in ``f=html`` are Services Directory pages (breadcrumbs, code, message, details, JSON links, the operation's
form) with the error's HTTP status; every other ``f`` keeps the ArcGIS error JSON.  Real gateway, real and stopped
backends, the pages parsed with lxml."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from lxml import html as lxml_html

from tests.gateway import Gateway, Reply, fetch

pytestmark = pytest.mark.backend

EXPORT = {"bbox": "-21.5,30,40,70", "size": "64,64"}


def error_page(reply: Reply) -> dict[str, object]:
    """What an error page shows: its code, message, details, breadcrumbs' texts and links, JSON link, form."""
    assert reply.content_type == "text/html", reply.body[:300]
    tree = lxml_html.fromstring(reply.body)
    assert tree.xpath("string(//h2)") == "Error"
    cells = {td.get("class"): td for td in tree.xpath("//table[@class='error']//td[@class]")}
    formats = {a.text_content(): a.get("href") for a in tree.xpath("//p[@class='formats']/a")}
    return {"code": int(cells["code"].text_content()), "message": cells["message"].text_content(),
            "details": [li.text_content() for li in tree.xpath("//ul[@class='details']/li")],
            "crumbs": [a.text_content() for a in tree.xpath("//div[@id='breadcrumbs']/a")],
            "crumb_links": [a.get("href") for a in tree.xpath("//div[@id='breadcrumbs']/a")],
            "json": formats.get("JSON"), "pjson": formats.get("PJSON"),
            "form": tree.xpath("//form[@class='operation']/@action"),
            "fields": {e.get("name"): e.get("value") for e in tree.xpath("//form//input")},
            "title": tree.xpath("string(//title)")}


def json_of(gateway: Gateway, link: object) -> Reply:
    assert isinstance(link, str)
    parts = urlsplit(link)
    assert dict(parse_qsl(parts.query))["f"] in ("json", "pjson")
    return fetch(gateway.url + parts.path + "?" + parts.query)


def test_bad_parameter_is_a_page_with_its_form(gateway: Gateway) -> None:
    url = gateway.services_url("ms/World") + "/export"
    reply = fetch(url, {**EXPORT, "bbox": "nonsense", "f": "html"})
    assert reply.status == 400 and reply.headers["Cache-Control"] == "no-store"
    shown = error_page(reply)
    assert shown["code"] == 400 and "'bbox'" in str(shown["message"])
    assert shown["crumbs"] == ["Home", "ms/World (MapServer)"]  # … > export (the page itself, not a link)
    assert shown["crumb_links"][1] == gateway.services_url("ms/World")  # type: ignore[index]
    assert shown["form"] == [url] and shown["fields"]["bbox"] == "nonsense"  # type: ignore[index]
    assert str(shown["title"]).startswith("Error 400: ")
    as_json = json_of(gateway, shown["json"])  # the same call in JSON: the ArcGIS error, same message
    assert as_json.status == 400 and as_json.json()["error"]["message"] == shown["message"]
    assert json_of(gateway, shown["pjson"]).json()["error"]["code"] == 400


@pytest.mark.parametrize("path", ["ms/Nope/MapServer", "ms/World/MapServer/99", "ms/World/MapServer/nothing"])
def test_unknown_service_or_layer_is_a_404_page(gateway: Gateway, path: str) -> None:
    reply = fetch(f"{gateway.url}/arcgis/rest/services/{path}", {"f": "html"})
    assert reply.status == 404
    shown = error_page(reply)
    assert shown["code"] == 404 and shown["message"]
    assert shown["crumbs"][0] == "Home"  # type: ignore[index]
    assert json_of(gateway, shown["json"]).json()["error"]["code"] == 404


def test_backend_failures_are_pages(gateway: Gateway) -> None:
    down = fetch(gateway.services_url("bad/down"), {"f": "html"})  # nothing listens at its URL
    assert down.status == 502
    shown = error_page(down)
    assert shown["code"] == 502 and shown["details"], shown
    assert shown["crumbs"] == ["Home"]  # bad/down (MapServer) is the page itself
    hang = fetch(gateway.services_url("bad/hang") + "/export", {**EXPORT, "f": "html"})  # GetMap never answers
    assert hang.status == 504
    assert error_page(hang)["code"] == 504


def test_other_formats_keep_the_arcgis_json(gateway: Gateway) -> None:
    url = gateway.services_url("ms/World") + "/export"
    for fmt in ("json", "pjson", "image", "kmz"):
        reply = fetch(url, {**EXPORT, "bbox": "nonsense", "f": fmt})
        assert reply.status == 400 and reply.content_type == "application/json", fmt
        assert reply.json()["error"]["code"] == 400
    # no f: JSON for API clients, a page for a browser's navigation (Accept: text/html)
    missing = f"{gateway.url}/arcgis/rest/services/ms/Nope/MapServer"
    assert fetch(missing).content_type == "application/json"
    browser = fetch(missing, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status == 404 and error_page(browser)["code"] == 404
    outside = fetch(gateway.url + "/no/such/path", {"f": "html"})  # outside the REST tree: still a page
    assert outside.status == 404 and error_page(outside)["crumb_links"] == ["/arcgis/rest/services"]
    soap = fetch(gateway.url + "/arcgis/services/ms/World/MapServer?f=html", data={"x": "y"},
                 headers={"Content-Type": "text/xml"})
    assert soap.status == 500 and b"Fault" in soap.body  # SOAP faults as before
