"""Tiles passed through from a backend WMTS: where one of its TileMatrixSets serves a level of the grid (same
resolution, tile size and origin: :func:`translators.ogc.wmts.matched_levels`), a tile is the backend's GetTile bytes,
never decoded — RESTful when the layer has a ResourceURL template for the format, KVP otherwise."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from proxy.backends.http import BackendClient, Response
from proxy.backends.refresh import Refreshing
from proxy.cache import Cache, cache_key
from proxy.executor import RunCpu
from proxy.settings import BackendSettings, WmtsSettings
from translators.crs import SpatialRef
from translators.errors import BackendError, NotFound
from translators.ogc.wmts import (
    MatrixSet,
    TileMatrix,
    WmtsCapabilities,
    choose_matrix_set,
    gettile_params,
    gettile_url,
    parse_wmts_capabilities,
)
from translators.tiles.grid import TileGrid

MIMES = {"png": "image/png", "png8": "image/png", "jpg": "image/jpeg", "jpgpng": "image/jpeg"}


@dataclass(frozen=True)
class WmtsPlan:
    """How the grid's levels are fetched from the WMTS: the layer, style, format, matrix set and matched levels."""

    layer: str
    style: str
    format: str
    matrix_set: MatrixSet
    levels: dict[int, TileMatrix]
    template: str | None  # RESTful ResourceURL template, when the layer has one for the format
    kvp_url: str


class WmtsTiles:
    """A backend WMTS of a tiled service."""

    def __init__(self, settings: WmtsSettings, backend: BackendSettings, grid: TileGrid, sr: SpatialRef,
                 tile_format: str, cache: Cache, namespace: str, run_cpu: RunCpu) -> None:
        self.settings = settings
        self.grid, self.sr = grid, sr
        self.mime = MIMES[tile_format]
        self._backend = backend
        self._cache = cache
        self._run_cpu = run_cpu
        self.url = settings.url or backend.url
        self.client = BackendClient(replace(backend, url=self.url), cache.count_backend_request)
        self._caps = Refreshing[WmtsCapabilities](self._fetch_capabilities, backend.capabilities_ttl, cache,
                                                  cache_key(namespace, "wmts-caps", self.url, {}),
                                                  f"{namespace} WMTS capabilities")
        self._plans: dict[int, WmtsPlan | None] = {}  # by id of the capabilities they were made from
        self._kvp: BackendClient | None = None

    async def _fetch_capabilities(self) -> WmtsCapabilities:
        restful = urlsplit(self.url).path.lower().endswith(".xml")
        response = await (self.client.get_url(self.url) if restful else self.client.get(
            {"SERVICE": "WMTS", "REQUEST": "GetCapabilities", "VERSION": "1.0.0"}))
        if response.status != 200:
            raise BackendError("The backend did not return WMTS capabilities.", [f"HTTP {response.status}"])
        caps: WmtsCapabilities = await self._run_cpu(parse_wmts_capabilities, response.body)
        return caps

    async def plan(self) -> WmtsPlan | None:
        """The current plan (None: no matrix set of the layer matches the grid: every tile comes from the WMS)."""
        caps = await self._caps.get()
        if id(caps) not in self._plans:
            self._plans = {id(caps): self._make_plan(caps)}
        return self._plans[id(caps)]

    def _make_plan(self, caps: WmtsCapabilities) -> WmtsPlan | None:
        chosen = choose_matrix_set(caps, self.settings.layer, self.grid, self.sr, self.settings.matrix_set)
        if chosen is None:
            return None
        layer = caps.layers[self.settings.layer]
        fmt = self.mime if self.mime in layer.formats else (layer.formats[0] if layer.formats else self.mime)
        kvp_url = (caps.kvp_url or self._backend.url).rstrip("?")
        if kvp_url != self.url:
            self._kvp = BackendClient(replace(self._backend, url=kvp_url), self._cache.count_backend_request)
        return WmtsPlan(self.settings.layer, self.settings.style or layer.style, fmt, chosen[0], chosen[1],
                        layer.templates.get(fmt), kvp_url)

    async def tile(self, level: int, row: int, col: int) -> tuple[bytes, str] | None:
        """The backend's bytes of a tile, or None when no matrix serves this level (drawn from the WMS then)."""
        plan = await self.plan()
        matrix = plan.levels.get(level) if plan is not None else None
        if plan is None or matrix is None:
            return None
        if not (0 <= row < matrix.matrix_height and 0 <= col < matrix.matrix_width):
            raise NotFound(f"Tile {level}/{row}/{col} is outside the backend's tile matrix.")
        if plan.template:
            response = await self.client.get_url(gettile_url(plan.template, plan.style, plan.matrix_set.identifier,
                                                             matrix.identifier, row, col))
        else:
            response = await (self._kvp or self.client).get(gettile_params(
                plan.layer, plan.style, plan.format, plan.matrix_set.identifier, matrix.identifier, row, col))
        return _tile_bytes(response, level, row, col)

    async def close(self) -> None:
        """Close the connections."""
        await self.client.close()
        if self._kvp is not None:
            await self._kvp.close()


def _tile_bytes(response: Response, level: int, row: int, col: int) -> tuple[bytes, str]:
    if response.status in (400, 404) and not response.content_type.startswith("image/"):
        raise NotFound(f"The backend WMTS has no tile {level}/{row}/{col}.")  # TileOutOfRange, no data there
    if response.status != 200 or not response.content_type.startswith("image/"):
        detail = response.body[:200].decode(errors="replace")
        raise BackendError("The backend WMTS did not return a tile.",
                           [f"HTTP {response.status} {response.content_type}", detail])
    return response.body, response.content_type
