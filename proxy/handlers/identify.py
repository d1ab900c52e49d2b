"""MapServer ``identify``: parse → plan (:mod:`translators.arcgis.identify`) → GetFeatureInfo per planned window →
the ArcGIS results (in the CPU pool) → respond."""

from __future__ import annotations

import asyncio

from aiohttp import web

from proxy.respond import respond
from proxy.routes import Call, operation
from proxy.services import MapService
from translators.arcgis.identify import identify_defined_layers, identify_results, plan_identify

KIND = "MapServer"


@operation(KIND, "identify")
async def identify(call: Call[MapService]) -> web.Response:
    """``…/MapServer/identify``."""
    service, params = call.service, call.params
    ctx = await service.context()
    # The clauses' fields are checked against the layers' own (WFS) where the backend describes them.
    names = identify_defined_layers(params, ctx.tree) if ctx.flavor.filter_dialect is not None else set()
    fields = await service.backend.layer_fields(names) if names else None
    plan = plan_identify(params, ctx, fields)
    bodies = await asyncio.gather(*(service.backend.feature_info(query) for query in plan.queries))
    data = await call.run_cpu(identify_results, plan, bodies)
    return respond(data, params, f"{service.settings.name}: identify", default="json")
