"""The Services Directory's HTML pages: every ``f=html`` answer as a page people browse, like ArcGIS Server's.

Each page has breadcrumbs (Home > services > folder > service > layer > operation), "JSON" and "PJSON" links to the
same resource, links to what the resource leads to (folders, services, layers, operations, the map viewer), the
operation's form prefilled with the call's parameters (:mod:`translators.arcgis.directory_forms`), the resource's
properties, and its whole JSON.  Pure: the caller says where the page is (:class:`Where`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from translators.arcgis.directory_forms import form_html, form_of
from translators.params import Params

STYLE = (
    "body{font-family:Verdana,Arial,sans-serif;font-size:13px;margin:0}"
    "#banner{background:#2f4f6f;color:#fff;padding:8px 14px;font-size:16px}"
    "#breadcrumbs{background:#e8eef4;padding:6px 14px}#content{padding:6px 14px}"
    "a{color:#1f5c99}table.props td{padding:2px 8px;vertical-align:top}"
    "form.operation{background:#f6f6f6;border:1px solid #ddd;padding:8px;margin:8px 0}"
    "pre{background:#f4f4f4;padding:1em;overflow:auto}ul.links li{margin:2px 0}"
    "table.error{border-left:4px solid #b22;background:#fbeeee;margin:8px 0}table.error td{padding:3px 8px}"
)


# The child resources and operations a service root links to, by service type (lower case).
OPERATIONS: dict[str, tuple[str, ...]] = {
    "mapserver": ("layers", "legend", "export", "identify"),
    "imageserver": ("exportImage", "identify", "keyProperties", "statistics"),
}


@dataclass(frozen=True)
class Where:
    """Where a page is: the gateway's public base URL, the request path's segments below ``/arcgis/rest``, and the
    index of the service type's segment among them (None: not inside a service)."""

    base_url: str
    segments: tuple[str, ...]
    kind_index: int | None

    @property
    def rest(self) -> str:
        """The URL of ``/arcgis/rest``."""
        return f"{self.base_url}/arcgis/rest"

    def url(self, count: int) -> str:
        """The URL of the first ``count`` segments."""
        return "/".join([self.rest, *(quote(s) for s in self.segments[:count])])

    @property
    def service_url(self) -> str | None:
        """The service's URL (None: not inside a service)."""
        return None if self.kind_index is None else self.url(self.kind_index + 1)

    @property
    def kind(self) -> str | None:
        """The service type as in the URL (``MapServer`` …)."""
        return None if self.kind_index is None else self.segments[self.kind_index]

    @property
    def below(self) -> tuple[str, ...]:
        """The segments below the service (empty: its root)."""
        return () if self.kind_index is None else self.segments[self.kind_index + 1:]


def _link(href: str, text: str) -> str:
    return f"<a href='{html.escape(href)}'>{html.escape(text)}</a>"


def breadcrumbs(where: Where) -> str:
    """Home > services > each folder, the service and what is below it, each a link but the last."""
    crumbs = [_link(f"{where.rest}/services", "Home")]
    start = 1 if where.segments[:1] and where.segments[0].lower() == "services" else 0
    for count in range(start + 1, len(where.segments) + 1):
        text = where.segments[count - 1]
        if where.kind_index is not None and count == where.kind_index + 1:
            text = f"{'/'.join(where.segments[start:where.kind_index])} ({text})"
        elif where.kind_index is not None and start < count <= where.kind_index:
            continue  # the folders and name are the service's crumb
        crumbs.append(_link(where.url(count), text) if count < len(where.segments) else html.escape(text))
    return " &gt; ".join(crumbs)


def format_links(where: Where, params: Params, here: str | None = None) -> str:
    """The same resource in JSON and pretty JSON (the call's own parameters kept); ``here`` is its URL when it is
    not the one of ``where`` (an error page outside the ArcGIS REST tree)."""
    kept = [(k, v) for k, v in params.items() if k.lower() != "f" and v.strip()]
    here = here or where.url(len(where.segments))
    return " | ".join(_link(f"{here}?{urlencode([*kept, ('f', f)])}", f.upper()) for f in ("json", "pjson"))


def _catalog_links(where: Where, data: dict[str, Any]) -> list[tuple[str, str]]:
    services = f"{where.rest}/services"
    links = [(f"{services}/{quote(folder)}", f"Folder: {folder}") for folder in data.get("folders", [])]
    links += [(f"{services}/{quote(s['name'])}/{s['type']}", f"{s['name']} ({s['type']})")
              for s in data.get("services", [])]
    return links


def _layer_links(service: str, layers: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f"{service}/{layer['id']}", f"Layer: {layer['name']} ({layer['id']})") for layer in layers
            if isinstance(layer, dict) and "id" in layer and "name" in layer]


def _service_links(where: Where, data: dict[str, Any]) -> list[tuple[str, str]]:
    """A service root: its layers, operations, child resources and the map viewer."""
    service = where.service_url or ""
    kind = (where.kind or "").lower()
    links = _layer_links(service, data.get("layers", []))
    links += [(f"{service}/{name}", f"Operation: {name}") for name in OPERATIONS.get(kind, ())]
    name = "/".join(where.segments[1:where.kind_index])
    links.append((f"{where.base_url}/arcbridge/viewer/{quote(name)}/{where.kind}", "View in a map"))
    return links


def _layer_page_links(where: Where, data: dict[str, Any]) -> list[tuple[str, str]]:
    """A layer: its parent and sublayers, its query operation when it serves features."""
    service = where.service_url or ""
    links = [(service, "Service")]
    parent = data.get("parentLayer")
    if isinstance(parent, dict):
        links += _layer_links(service, [parent])
    links += _layer_links(service, data.get("subLayers") or [])
    if "Query" in str(data.get("capabilities", "")):
        links.append((f"{service}/{where.below[0]}/query", "Operation: query"))
    return links


def links(where: Where, data: Any) -> list[tuple[str, str]]:
    """The (href, text) links a resource leads to."""
    if not isinstance(data, dict):
        return []
    if where.kind_index is None:
        return _catalog_links(where, data)
    if not where.below:
        return _service_links(where, data)
    if len(where.below) == 1 and where.below[0].isdigit():
        return _layer_page_links(where, data)
    if where.below[0].lower() == "layers":
        return _layer_links(where.service_url or "", data.get("layers", []))
    return [(where.service_url or "", "Service")]


def properties(data: Any) -> str:
    """The resource's scalar properties (and small lists) as a table; the rest is in the JSON below it."""
    if not isinstance(data, dict):
        return ""
    rows = []
    for key, value in data.items():
        if isinstance(value, dict | list) and len(json.dumps(value)) > 200:
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        cell = _link(shown, shown) if isinstance(shown, str) and shown.startswith(("http://", "https://")) else \
            html.escape(str(shown))
        rows.append(f"<tr><td><b>{html.escape(str(key))}:</b></td><td>{cell}</td></tr>")
    return f"<table class='props'>{''.join(rows)}</table>" if rows else ""


MAX_ROWS = 500


def records(data: Any) -> str:
    """Query features and identify results as a table of their attributes (the first :data:`MAX_ROWS`)."""
    if not isinstance(data, dict):
        return ""
    rows = data.get("features") if isinstance(data.get("features"), list) else data.get("results")
    if not isinstance(rows, list) or not rows:
        return ""
    table = [{**({"layer": f"{r['layerName']} ({r['layerId']})"} if "layerId" in r and "layerName" in r else {}),
              **(r.get("attributes") or r.get("properties") or {})} for r in rows[:MAX_ROWS] if isinstance(r, dict)]
    columns = list(dict.fromkeys(key for row in table for key in row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(row.get(c, '')))}</td>" for c in columns) + "</tr>"
                   for row in table)
    more = f" (the first {MAX_ROWS} shown)" if len(rows) > MAX_ROWS else ""
    return (f"<p>{len(rows)} {'records' if len(rows) != 1 else 'record'}{more}:</p>"
            f"<table class='records' border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>")


def page(title: str, data: Any, where: Where, params: Params, pattern: str | None, extra: str = "") -> str:
    """The whole page of a resource; ``pattern`` is the operation's registered pattern (its form is shown)."""
    form = form_of(where.kind or "", pattern) if pattern is not None and where.kind else None
    body = [f"<div id='breadcrumbs'>{breadcrumbs(where)}</div><div id='content'>",
            f"<h2>{html.escape(title)}</h2><p class='formats'>{format_links(where, params)}</p>"]
    if form is not None:
        body.append(form_html(form, where.url(len(where.segments)), params))
    found = links(where, data)
    if found:
        items = "".join(f"<li>{_link(href, text)}</li>" for href, text in found)
        body.append(f"<ul class='links'>{items}</ul>")
    if data is not None:
        body.append(extra + records(data) + properties(data))
        body.append("<details><summary>JSON</summary><pre>"
                    f"{html.escape(json.dumps(data, indent=2, ensure_ascii=False))}</pre></details>")
    return shell(title, "".join(body) + "</div>")


def error_page(where: Where, error: dict[str, Any], params: Params, pattern: str | None,
               here: str | None = None) -> str:
    """The page of an error answered in ``f=html``: breadcrumbs, the ArcGIS error's code, message and details, the
    links to the same call in JSON, and the operation's form prefilled with the call (to correct it)."""
    details = "".join(f"<li>{html.escape(str(d))}</li>" for d in error.get("details") or [])
    rows = [("Code", html.escape(str(error.get("code")))), ("Message", html.escape(str(error.get("message"))))]
    if details:
        rows.append(("Details", f"<ul class='details'>{details}</ul>"))
    table = "".join(f"<tr><td><b>{name}:</b></td><td class='{name.lower()}'>{cell}</td></tr>" for name, cell in rows)
    body = [f"<div id='breadcrumbs'>{breadcrumbs(where)}</div><div id='content'><h2>Error</h2>",
            f"<table class='error'>{table}</table><p class='formats'>{format_links(where, params, here)}</p>"]
    form = form_of(where.kind or "", pattern) if pattern is not None and where.kind else None
    if form is not None:
        body.append(form_html(form, here or where.url(len(where.segments)), params))
    return shell(f"Error {error.get('code')}: {error.get('message')}", "".join(body) + "</div>")


def shell(title: str, body: str, head: str = "") -> str:
    """The page around a body: title, style, banner."""
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style>{head}</head><body>"
            "<div id='banner'>ArcGIS REST Services Directory (arcbridge)</div>"
            f"{body}</body></html>")
