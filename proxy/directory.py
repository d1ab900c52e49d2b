"""The aiohttp side of the Services Directory: where a page is (for :func:`proxy.respond.html_page`), an operation's
form shown instead of a 400 in ``f=html``, and the map viewer with its bundled Leaflet and Esri Leaflet."""

from __future__ import annotations

from aiohttp import web

from proxy import routes
from proxy.respond import PAGE, html_page
from proxy.services import Service
from translators.arcgis.directory import Where
from translators.arcgis.directory_forms import form_of, shows_form
from translators.params import Params


def enter(base_url: str, segments: list[str]) -> None:
    """Note where a page of the ArcGIS REST tree outside any service is (catalog, folders, info)."""
    PAGE.set((Where(base_url, tuple(segments), None), None))


def locate(base_url: str, segments: list[str], kind_index: int, below: list[str], params: Params,
           service: Service) -> web.Response | None:
    """Note where the page of a service resource is; the operation's form when it is called in ``f=html``
    without what it needs to run (None: run it)."""
    kind = segments[kind_index]
    pattern = routes.pattern(kind, below)
    PAGE.set((Where(base_url, tuple(segments), kind_index), pattern))
    form = form_of(kind, pattern) if pattern is not None else None
    if form is None or not shows_form(form, params):
        return None
    return html_page(f"{service.settings.name} ({kind}): {form.title}", None, params=params)
