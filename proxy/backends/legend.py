"""A layer's legend from a WMS backend, by its flavour's route: the classes it has, then one icon per class (see
:mod:`translators.ogc.legend`)."""

from __future__ import annotations

import asyncio

from proxy.backends.ogc import check_answer
from proxy.backends.wms import WmsBackend, check_image
from proxy.executor import RunCpu
from translators.arcgis.layers import MapLayer
from translators.arcgis.legend import LegendEntry, LegendRequest, build_entries, fit_icon, whole_image_entry
from translators.errors import BackendError
from translators.ogc.legend import (
    JSON,
    PNG,
    LegendRoute,
    LegendRule,
    getstyles_params,
    json_legend_params,
    legend_graphic_params,
    parse_geoserver_json,
    parse_getstyles,
    parse_qgis_json,
)


async def draw_legend(backend: WmsBackend, layer: MapLayer, request: LegendRequest,
                      run_cpu: RunCpu) -> list[LegendEntry]:
    """The entries of one leaf layer at the request's size and resolution; a backend failure is a 502."""
    caps = await backend.capabilities()
    name = layer.wms.name or ""
    flavor = backend.flavor
    if flavor.legend_route is LegendRoute.LAYER_IMAGE:
        params = legend_graphic_params(flavor.legend_route, name, caps.version, None, None, {})
        body = check_image(await backend.client.get(params), PNG)
        return await run_cpu(whole_image_entry, body)
    rules = await _rules(backend, flavor.legend_route, name, layer.wms.title, caps.version, run_cpu)
    pixels = request.pixels
    dpi = flavor.legend_dpi_params(request.dpi)

    async def icon(rule: LegendRule) -> bytes | None:
        if rule.rule is None:
            return None
        params = legend_graphic_params(flavor.legend_route, name, caps.version, rule.rule, pixels, dpi)
        try:
            return check_image(await backend.client.get(params), PNG)
        except BackendError:
            if rule.icon is None:
                raise
            # A rule the backend cannot draw by its title (QGIS answers an unknown RULE with HTTP 500): the icon
            # its JSON legend carried, at that icon's own resolution, on a patch of the size asked for.
            fitted: bytes = await run_cpu(fit_icon, rule.icon, pixels)
            return fitted

    images = await asyncio.gather(*(icon(rule) for rule in rules))
    return await run_cpu(build_entries, rules, images, pixels)


async def _rules(backend: WmsBackend, route: LegendRoute, name: str, title: str, version: str,
                 run_cpu: RunCpu) -> list[LegendRule]:
    """The classes of a layer as the backend lists them."""
    if route is LegendRoute.SLD_RULES:
        response = await backend.client.get(getstyles_params(name))
        check_answer(response, "GetStyles")
        rules: list[LegendRule] = await run_cpu(parse_getstyles, response.body, name)
        return rules
    response = await backend.client.get(json_legend_params(route, name, version))
    check_answer(response, "GetLegendGraphic")
    if not response.content_type.lower().startswith(JSON):
        raise BackendError(f"The backend answered '{response.content_type}' instead of a JSON legend.")
    if route is LegendRoute.QGIS_JSON:
        return parse_qgis_json(response.body, title)
    return parse_geoserver_json(response.body, name)
