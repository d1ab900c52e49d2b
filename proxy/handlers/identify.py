"""MapServer ``identify``: parse → plan (:mod:`translators.arcgis.identify`) → WFS GetFeature for the layers the
backend serves by WFS, GetFeatureInfo for the others → the ArcGIS results (in the CPU pool) → respond."""

from __future__ import annotations

import asyncio

from aiohttp import web

from proxy.handlers.features import feature_layers
from proxy.respond import respond
from proxy.routes import Call, operation
from proxy.services import MapService
from translators.arcgis.identify import (
    identify_defined_layers,
    identify_results,
    plan_identify,
    select_candidates,
)
from translators.ogc.wfs_features import getfeature_params

KIND = "MapServer"


@operation(KIND, "identify")
async def identify(call: Call[MapService]) -> web.Response:
    """``…/MapServer/identify``."""
    service, params = call.service, call.params
    ctx = await service.context()
    backend = service.backend
    # The clauses' fields are checked against the layers' own (WFS) where the backend describes them.
    names = identify_defined_layers(params, ctx.tree) if ctx.flavor.filter_dialect is not None else set()
    fields = await backend.layer_fields(names) if names else None
    # The layers asked about that are feature layers (the WFS descriptions are cached like the capabilities).
    candidates = [c.layer for c in select_candidates(params, ctx.tree)[1]]
    found = await feature_layers(service, ctx, candidates)
    features = {name: layer for layer_id, layer in found.items() if (name := ctx.tree.by_id[layer_id].wms.name)}
    plan = plan_identify(params, ctx, fields, features)
    info = asyncio.gather(*(backend.feature_info(query) for query in plan.queries))
    wfs = asyncio.gather(*(backend.get_features(getfeature_params(lookup.request, ctx.flavor, parameter="layerDefs"))
                           for lookup in plan.lookups))
    bodies, answers = await asyncio.gather(info, wfs)
    data = await call.run_cpu(identify_results, plan, bodies, [body for body, _ in answers])
    return respond(data, params, f"{service.settings.name}: identify")
