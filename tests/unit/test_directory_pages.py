"""The Services Directory's pages, pure: breadcrumbs, links, forms and what a call shows in f=html."""

from __future__ import annotations

from translators.arcgis.directory import Where, breadcrumbs, format_links, links, page
from translators.arcgis.directory_forms import form_html, form_of, shows_form
from translators.params import Params

BASE = "http://gw"
LAYER = Where(BASE, ("services", "a", "World", "MapServer", "0", "query"), 3)


def test_breadcrumbs_name_the_service_once() -> None:
    crumbs = breadcrumbs(LAYER)
    assert crumbs == ("<a href='http://gw/arcgis/rest/services'>Home</a> &gt; "
                      "<a href='http://gw/arcgis/rest/services/a/World/MapServer'>a/World (MapServer)</a> &gt; "
                      "<a href='http://gw/arcgis/rest/services/a/World/MapServer/0'>0</a> &gt; query")
    assert breadcrumbs(Where(BASE, ("services",), None)) == "<a href='http://gw/arcgis/rest/services'>Home</a>"


def test_format_links_keep_the_parameters() -> None:
    found = format_links(LAYER, Params({"where": "1=1", "f": "html"}))
    assert "query?where=1%3D1&amp;f=json'>JSON</a>" in found and "f=pjson'>PJSON</a>" in found


def test_service_links() -> None:
    root = Where(BASE, ("services", "a", "World", "MapServer"), 3)
    found = dict(links(root, {"layers": [{"id": 0, "name": "cities"}]}))
    assert found["http://gw/arcgis/rest/services/a/World/MapServer/0"] == "Layer: cities (0)"
    assert found["http://gw/arcgis/rest/services/a/World/MapServer/export"] == "Operation: export"
    assert found["http://gw/arcbridge/viewer/a/World/MapServer"] == "View in a map"


def test_forms_show_when_required_parameters_are_missing() -> None:
    export = form_of("MapServer", "export")
    assert export is not None
    assert shows_form(export, Params({})) and shows_form(export, Params({"f": "html", "bbox": " "}))
    assert not shows_form(export, Params({"bbox": "0,0,1,1"}))
    assert not shows_form(export, Params({"f": "json"}))  # JSON callers get the ArcGIS error
    query = form_of("mapserver", "*/query")
    assert query is not None and not shows_form(query, Params({"objectIds": "1"}))
    legend = form_of("MapServer", "legend")
    assert legend is not None and not shows_form(legend, Params({}))  # nothing required: it always runs


def test_values_are_escaped() -> None:
    export = form_of("MapServer", "export")
    assert export is not None
    hostile = "'><script>alert(1)</script>"
    text = form_html(export, "http://gw/x", Params({"bbox": hostile}))
    assert "<script>" not in text and "&#x27;&gt;&lt;script&gt;" in text
    whole = page(hostile, {"name": hostile}, LAYER, Params({"where": hostile}), "*/query")
    assert "<script>alert" not in whole
