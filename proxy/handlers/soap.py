"""The SOAP front door: ``/arcgis/services`` (the catalog) and ``/arcgis/services/<folder>/<Name>/MapServer``.

``GET …?wsdl`` answers the WSDL; a ``POST`` carries one SOAP 1.1 document/literal operation.  The translation is
pure (``translators/arcgis/soap``); ``ExportMapImage`` goes through the REST export's planner and renderer
(:mod:`proxy.handlers.mapserver`), ``GetLegendInfo`` through the REST legend's cache.  Every failure is answered as
a ``soap:Fault`` (:func:`proxy.respond.fault_response`), never as ArcGIS JSON or a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from proxy.cache import cache_key
from proxy.executor import RunCpu
from proxy.handlers.features import feature_layers
from proxy.handlers.legend import layer_entries
from proxy.handlers.mapserver import _caller_mistake, _plan, render
from proxy.outputs import OutputStore
from proxy.respond import fault_response
from proxy.services import MapService, Registry
from translators.arcgis.export import ExportPlan, ServiceContext, answer_key_params
from translators.arcgis.mapservice import service_info
from translators.arcgis.soap import answers, catalog
from translators.arcgis.soap.mapserver import (
    MAP_NAME,
    check_map_name,
    element_error,
    export_request,
    legend_request,
)
from translators.arcgis.soap.schema import DEFAULT_NAMESPACE
from translators.arcgis.soap.wsdl import (
    CATALOG_OPERATIONS,
    MAPSERVER_OPERATIONS,
    answer_fields,
    catalog_wsdl,
    mapserver_wsdl,
)
from translators.arcgis.soap.xml import MAX_BYTES, Call, envelope, parse_call
from translators.errors import ArcGISError, BackendRefusal, InvalidParameter, NotFound, UnsupportedOperation

log = logging.getLogger("arcbridge.soap")
PREFIX = "/arcgis/services"
XML = "text/xml"
KIND = "MapServer"  # the one service type with a SOAP endpoint


def is_soap(path: str) -> bool:
    """Whether a request path belongs to the SOAP front door (its errors are faults, its body XML)."""
    lowered = path.lower().rstrip("/")
    return lowered == PREFIX or lowered.startswith(PREFIX + "/")


async def _body(request: web.Request) -> bytes:
    """The request body, read in chunks and refused as soon as it passes :data:`MAX_BYTES` (a chunked body has no
    Content-Length to refuse it by)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raise InvalidParameter("Envelope", f"the request is larger than {MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class Endpoint:
    """The SOAP paths and what their handler (:meth:`handle`) works with."""

    registry: Registry
    outputs: OutputStore
    run_cpu: RunCpu
    base_url: Callable[[web.Request], str]

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one SOAP request; every error becomes a fault."""
        try:
            return await self._answer(request)
        except asyncio.CancelledError:
            raise
        except ArcGISError as exc:
            log.info("%s %s -> fault %s", request.method, request.path[:300], exc.message)
            return fault_response(exc)
        except Exception:
            log.exception("unexpected SOAP failure for %s %s", request.method, request.path[:300])
            return fault_response(ArcGISError())

    async def _answer(self, request: web.Request) -> web.Response:
        segments = [s for s in request.path[len(PREFIX):].split("/") if s]
        service = self._service(segments)
        url = f"{self.base_url(request)}{PREFIX}" + (f"/{service.settings.name}/MapServer" if service else "")
        if request.method == "GET" and "wsdl" in (k.lower() for k in request.query):
            body = mapserver_wsdl(service.settings.short_name, url) if service else catalog_wsdl(url)
            return web.Response(body=body, content_type=XML, charset="utf-8")
        if request.method != "POST":
            raise InvalidParameter("wsdl", "GET answers the WSDL only (…?wsdl); SOAP operations are POSTed")
        if request.content_length is not None and request.content_length > MAX_BYTES:
            raise InvalidParameter("Envelope", f"the request is larger than {MAX_BYTES} bytes")
        call = await self.run_cpu(parse_call, await _body(request))
        tns = call.namespace or DEFAULT_NAMESPACE
        if service is None:
            operations, value = CATALOG_OPERATIONS, self._catalog(call, request)
        else:
            operations, value = MAPSERVER_OPERATIONS, await self._mapserver(call, service, request)
        name, kind = answer_fields(operations, call.operation)
        body = await self.run_cpu(envelope, tns, call.operation, [(name, kind, value)])
        return web.Response(body=body, content_type=XML, charset="utf-8", headers={"Cache-Control": "no-store"})

    def _service(self, segments: list[str]) -> MapService | None:
        """The map service a path names (None: the catalog)."""
        if not segments:
            return None
        if segments[-1].lower() != KIND.lower() or len(segments) < 2:
            raise NotFound("Only MapServer services have a SOAP endpoint here.")
        found = self.registry.service(KIND, "/".join(segments[:-1]))
        assert isinstance(found, MapService)
        return found

    def _catalog(self, call: Call, request: web.Request) -> Any:
        """The catalog's operations: fixed answers, folders and service descriptions."""
        if call.operation not in CATALOG_OPERATIONS:
            raise UnsupportedOperation(call.operation)
        if call.operation in catalog.FIXED:
            return catalog.FIXED[call.operation]
        if call.operation == "GetFolders":
            return self.registry.folders()
        names = [s.name for s in self.registry.settings.services.values() if s.type == KIND]
        if call.operation == "GetServiceDescriptionsEx":
            names = catalog.folder_filter(call.body, names, self.registry.folders())
        return catalog.service_descriptions(self.base_url(request), names)

    async def _mapserver(self, call: Call, service: MapService, request: web.Request) -> Any:
        """The MapServer's operations."""
        operation = call.operation
        if operation not in MAPSERVER_OPERATIONS:
            raise UnsupportedOperation(operation)
        if operation in ("GetServerInfo", "HasSingleFusedMapCache", "IsFixedScaleMap"):
            check_map_name(call.body)
        simple: dict[str, Any] = {"GetDefaultMapName": MAP_NAME, "GetMapCount": 1, "HasSingleFusedMapCache": False,
                                  "IsFixedScaleMap": False, "GetSupportedImageReturnTypes": "esriImageReturnURL"}
        if operation in simple:
            return simple[operation]
        if operation == "GetMapName":
            if call.body.integer("Index") != 0:
                raise InvalidParameter(f"{call.body.path}/Index", "the service has one map, at index 0")
            return MAP_NAME
        ctx = await service.context()
        if operation in ("GetServerInfo", "GetDocumentInfo"):
            settings = service.settings
            overrides = {k: v for k, v in (("description", settings.description),
                                           ("copyrightText", settings.copyright_text)) if v}
            features = await feature_layers(service, ctx)
            info = service_info(ctx, settings.short_name, overrides, features)
            if operation == "GetDocumentInfo":
                return answers.document_info(info["documentInfo"])
            time_extent = info.get("timeInfo", {}).get("timeExtent")
            return answers.server_info(ctx, info["description"], info["copyrightText"], features, time_extent)
        if operation == "GetLegendInfo":
            return await self._legend(call, service, request)
        return await self._export(call, service, request)

    async def _export(self, call: Call, service: MapService, request: web.Request) -> Any:
        """``ExportMapImage``: the REST export's plan and rendering, answered as a ``MapImage``."""
        ctx = await service.context()
        exported = export_request(call.body, ctx)
        try:
            plan = await _plan(service, ctx, exported.params)
            try:
                picture, content_type = await self._picture(service, ctx, plan)
            except BackendRefusal as refusal:
                raise _caller_mistake(refusal, plan, ctx.tree, exported.params) from None
        except ArcGISError as exc:
            raise element_error(exc) from None
        url = ""
        if not exported.mime_data:
            name = await self.outputs.put(picture, content_type, plan.format.extension)
            url = f"{self.base_url(request)}/arcgis/rest/directories/arcgisoutput/{name}"
        return answers.map_image(plan, ctx.tree, picture if exported.mime_data else None, url, content_type)

    async def _picture(self, service: MapService, ctx: ServiceContext, plan: ExportPlan) -> tuple[bytes, str]:
        """The exported picture through the same answer-cache entries as the REST ``export`` with ``f=image``."""
        if plan.passthrough:
            entry, _, _ = await service.backend.map_entry(plan.fetches[0])
            return entry.body, plan.format.content_type

        async def produce() -> tuple[bytes, str]:
            return await render(service, plan, self.run_cpu)

        namespace = service.settings.name.lower()
        key = cache_key(namespace, "answer-export", service.backend.identity,
                        answer_key_params(plan, ctx.caps.version, ctx.flavor))
        entry, _ = await service.cache.fetch(key, namespace, service.ttl, produce)
        return entry.body, entry.content_type

    async def _legend(self, call: Call, service: MapService, request: web.Request) -> Any:
        """``GetLegendInfo``: the REST legend's entries (cached the same way) as ``MapServerLegendInfo``s."""
        ctx = await service.context()
        legend, mime_data = legend_request(call.body, ctx)
        entries = await asyncio.gather(*(layer_entries(service, self.run_cpu, layer, legend)
                                         for layer in legend.layers))
        base = f"{self.base_url(request)}/arcgis/rest/services/{service.settings.name}/MapServer"
        urls = None if mime_data else [[f"{base}/{layer.id}/images/{entry.key}" for entry in found]
                                       for layer, found in zip(legend.layers, entries, strict=True)]
        return answers.legend_info(legend.layers, entries, legend.dpi, urls)
