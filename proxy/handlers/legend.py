"""MapServer ``legend`` and the legend images it points to (``…/MapServer/<id>/images/<key>``).

Each leaf layer's entries are cached like images: keyed by service, layer, dpi and size, so a second legend call asks
the backend nothing.  Every image is kept under its key too, for ``…/<id>/images/<key>``; an image no longer kept is
looked for in the layer's default legend (20x20 at 96 dpi), else the key is unknown (404).
"""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from proxy.answers import answer
from proxy.backends.legend import draw_legend
from proxy.cache import cache_key, make_entry
from proxy.executor import RunCpu
from proxy.handlers.features import feature_layers
from proxy.respond import respond
from proxy.routes import Call, operation
from proxy.services import MapService
from translators.arcgis.layers import LayerTree, MapLayer
from translators.arcgis.legend import (
    CONTENT_TYPE,
    DEFAULT_PATCH,
    LegendEntry,
    LegendRequest,
    dump_entries,
    legend_answer,
    legend_html,
    load_entries,
    parse_legend,
)
from translators.arcgis.view import DEFAULT_DPI
from translators.errors import NotFound

KIND = "MapServer"
_KEY = re.compile(r"^[0-9a-f]{32}$")


@operation(KIND, "legend")
async def legend(call: Call[MapService]) -> web.Response:
    """``…/MapServer/legend``: one entry per class of every leaf layer (or of those ``dynamicLayers`` names)."""
    service = call.service
    ctx = await service.context()
    request = parse_legend(call.params, ctx)
    entries = await asyncio.gather(*(layer_entries(service, call.run_cpu, layer, request)
                                     for layer in request.layers))
    features = await feature_layers(service, ctx, list(request.layers))  # typed as the service root types them
    data = await call.run_cpu(legend_answer, ctx.tree, request.layers, entries, set(features))
    return respond(data, call.params, f"{service.settings.name} legend", extra_html=legend_html(data))


async def layer_entries(service: MapService, run_cpu: RunCpu, layer: MapLayer,
                        request: LegendRequest) -> list[LegendEntry]:
    """A layer's legend entries through the cache (by service, layer, dpi and size)."""
    backend = service.backend
    namespace = service.settings.name.lower()
    caps = await backend.capabilities()
    key = cache_key(namespace, "legend", backend.identity,
                    {"LAYER": layer.wms.name or "", "VERSION": caps.version, **request.key_params()})

    async def produce() -> tuple[bytes, str]:
        drawn = await draw_legend(backend, layer, request, run_cpu)
        for entry in drawn if service.ttl > 0 else ():  # kept for …/<id>/images/<key> as long as the legend
            image_key = _image_cache_key(service, layer, entry.key)
            await service.cache.put(image_key, make_entry(entry.png, CONTENT_TYPE, service.ttl, image_key))
        return dump_entries(drawn), "application/json"

    entry, _ = await service.cache.fetch(key, namespace, service.ttl, produce)
    return await run_cpu(load_entries, entry.body)


def _image_cache_key(service: MapService, layer: MapLayer, key: str) -> str:
    return cache_key(service.settings.name.lower(), "legend-image", service.backend.identity,
                     {"LAYER": layer.wms.name or "", "KEY": key})


def _leaf(tree: LayerTree, text: str) -> MapLayer:
    """The leaf layer of an images URL; anything else is unknown (404)."""
    try:
        layer = tree.get(int(text))
    except ValueError:
        raise NotFound(f"Layer '{text}' does not exist in this service.") from None
    if layer.is_group or not layer.wms.name:
        raise NotFound(f"Layer {layer.id} has no legend images.")
    return layer


@operation(KIND, "*/images/*")
async def legend_image(call: Call[MapService]) -> web.Response:
    """``…/MapServer/<id>/images/<key>``: the PNG of a legend entry."""
    service = call.service
    ctx = await service.context()
    layer = _leaf(ctx.tree, call.captured[0])
    key = call.captured[1].lower()
    if not _KEY.match(key):
        raise NotFound(f"Image '{call.captured[1]}' does not exist.")
    cache_key_ = _image_cache_key(service, layer, key)
    entry = await service.cache.lookup(cache_key_, service.settings.name.lower())
    status = "hit"
    if entry is None:
        # Not kept (evicted, or caching off): the layer's default legend is drawn (or found cached) again.
        request = LegendRequest(*DEFAULT_PATCH, DEFAULT_DPI, (layer,))
        found = next((e for e in await layer_entries(service, call.run_cpu, layer, request) if e.key == key), None)
        if found is None:
            raise NotFound(f"Image '{key}' does not exist for layer {layer.id}.")
        entry, status = make_entry(found.png, CONTENT_TYPE, service.ttl, cache_key_), "miss"
    return answer(service.cache, call.url, service.settings, service.ttl, cache_key_, entry, status)
