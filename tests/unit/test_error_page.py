"""The Services Directory's error page, pure: what it shows, and that the caller's text is escaped."""

from __future__ import annotations

from lxml import html as lxml_html

from translators.arcgis.directory import Where, error_page
from translators.params import Params

EXPORT = Where("http://gw", ("services", "a", "World", "MapServer", "export"), 3)


def test_error_page_shows_the_error_and_the_form() -> None:
    error = {"code": 400, "message": "Invalid value for parameter 'bbox': got '<script>x</script>'",
             "details": ["one", "<b>two</b>"]}
    text = error_page(EXPORT, error, Params({"bbox": "<script>x</script>", "f": "html"}), "export")
    assert "<script>" not in text  # the caller's text is escaped everywhere (message, details, form)
    tree = lxml_html.fromstring(text)
    assert tree.xpath("string(//td[@class='code'])") == "400"
    assert tree.xpath("string(//td[@class='message'])") == error["message"]
    assert tree.xpath("//ul[@class='details']/li/text()") == ["one", "<b>two</b>"]
    assert tree.xpath("//form[@class='operation']/@action") == ["http://gw/arcgis/rest/services/a/World/MapServer/export"]
    json_link = tree.xpath("//p[@class='formats']/a[text()='JSON']/@href")[0]
    assert json_link.startswith("http://gw/arcgis/rest/services/a/World/MapServer/export?bbox=") and \
        json_link.endswith("&f=json")
    assert tree.xpath("string(//title)").startswith("Error 400: Invalid value")


def test_error_page_outside_a_service_links_its_own_url() -> None:
    text = error_page(Where("", (), None), {"code": 404, "message": "Not found", "details": []},
                      Params({"F": "html"}), None, "/no/such")
    tree = lxml_html.fromstring(text)
    assert tree.xpath("//div[@id='breadcrumbs']/a/@href") == ["/arcgis/rest/services"]
    assert tree.xpath("//p[@class='formats']/a/@href") == ["/no/such?f=json", "/no/such?f=pjson"]
    assert tree.xpath("//form") == [] and tree.xpath("//ul[@class='details']") == []
