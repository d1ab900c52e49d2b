"""``arcbridge seed`` and ``arcbridge purge``: warm and empty a service's cache through a running gateway."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

import aiohttp

from translators.crs import resolve_sr
from translators.errors import InvalidParameter
from translators.params import parse_numbers

DPI = 96.0
MAX_REQUESTS = 200_000


@dataclass(frozen=True)
class SeedRequest:
    """One export to make."""

    bbox: tuple[float, float, float, float]
    width: int
    height: int


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``256,512`` (squares) or ``800x600,1024x768``."""
    sizes: list[tuple[int, int]] = []
    for part in text.split(","):
        part = part.strip().lower()
        width, _, height = part.partition("x")
        try:
            size = (int(width), int(height or width))
        except ValueError:
            raise InvalidParameter("sizes", f"'{part}' is not a size") from None
        if min(size) < 1:
            raise InvalidParameter("sizes", f"'{part}' is not a size")
        sizes.append(size)
    return sizes


def seed_requests(bbox: tuple[float, float, float, float], sr_code: str, sizes: Sequence[tuple[int, int]],
                  scales: Sequence[float]) -> Iterator[SeedRequest]:
    """Without scales: the whole extent once per size.  With scales: a grid of images of each size covering the
    extent at each scale (as a tiled client would ask for them)."""
    if not scales:
        for width, height in sizes:
            yield SeedRequest(bbox, width, height)
        return
    sr = resolve_sr(sr_code, "bboxSR")
    x0, y0, x1, y1 = bbox
    for scale in scales:
        resolution = scale * 0.0254 / DPI / sr.meters_per_unit
        for width, height in sizes:
            step_x, step_y = width * resolution, height * resolution
            columns = max(1, math.ceil((x1 - x0) / step_x))
            rows = max(1, math.ceil((y1 - y0) / step_y))
            for row in range(rows):
                for col in range(columns):
                    left, top = x0 + col * step_x, y1 - row * step_y
                    yield SeedRequest((left, top - step_y, left + step_x, top), width, height)


def progress_bar(done: int, total: int, failed: int, started: float, out: TextIO, unit: str = "requests") -> None:
    """One line of a seeding run's progress: a bar, the count of ``unit`` (requests, tiles), the rate and the
    failures."""
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.monotonic() - started, 1e-6)
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit} {rate:.1f} {unit}/s"
              + (f" {failed} failed" if failed else ""))
    out.flush()


async def seed(base_url: str, service: str, kind: str, bbox: tuple[float, float, float, float], bbox_sr: str,
               sizes: Sequence[tuple[int, int]], scales: Sequence[float], image_format: str | None,
               extra: Sequence[tuple[str, str]], concurrency: int, out: TextIO = sys.stderr) -> tuple[int, int]:
    """Request every image of the seed plan from a running gateway; returns (done, failed)."""
    requests = list(seed_requests(bbox, bbox_sr, sizes, scales))
    if len(requests) > MAX_REQUESTS:
        raise InvalidParameter("scales", f"the plan has {len(requests)} images, more than {MAX_REQUESTS}")
    image = kind.lower() == "imageserver"
    resource = "ImageServer/exportImage" if image else "MapServer/export"
    url = f"{base_url.rstrip('/')}/arcgis/rest/services/{service}/{resource}"
    queue: asyncio.Queue[SeedRequest] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    done = failed = 0
    started = time.monotonic()

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done, failed
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            params = {"f": "image", "bbox": ",".join(repr(v) for v in item.bbox), "bboxSR": bbox_sr,
                      "imageSR": bbox_sr, "size": f"{item.width},{item.height}", **dict(extra)}
            if image_format:
                params["format"] = image_format
            try:
                async with session.get(url, params=params) as response:
                    await response.read()
                    failed += response.status != 200
            except (aiohttp.ClientError, TimeoutError):
                failed += 1
            done += 1
            progress_bar(done, len(requests), failed, started, out)

    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(max(1, concurrency))))
    out.write("\n")
    return done, failed


async def purge_remote(base_url: str, service: str, token: str | None, extra: dict[str, str] | None = None) -> int:
    """Purge through a running gateway's admin endpoint (``extra``: the tiles' ``levels``, ``bbox``, ``bboxSR``);
    returns the number of entries dropped."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session, session.post(
            f"{base_url.rstrip('/')}/arcbridge/admin/purge", data={"service": service, **(extra or {})},
            headers=headers) as response:
        data = await response.json(content_type=None)
        if response.status != 200:
            message = data.get("error", {}).get("message") if isinstance(data, dict) else None
            raise RuntimeError(f"purge failed (HTTP {response.status}): {message or data}")
        return int(data["dropped"])


async def purge_shared(config: str, service: str) -> int:
    """Purge a service's entries from the shared (Redis) tier named in a configuration file."""
    # Imported here: the seeders, which share this module, start without the cache and the settings parser
    from proxy.cache import Cache
    from proxy.settings import load_settings

    settings = load_settings(config)
    if service.lower() not in settings.services:
        raise RuntimeError(f"service {service!r} is not in {config}")
    if settings.cache.redis_url is None:
        raise RuntimeError("the configuration has no shared cache (cache.redis); purge a running gateway with --url")
    cache = Cache(settings.cache)
    try:
        assert cache.shared is not None
        return await cache.shared.drop(f"ab:{service.lower()}:")
    finally:
        await cache.close()


def parse_bbox_arg(text: str) -> tuple[float, float, float, float]:
    """``xmin,ymin,xmax,ymax``."""
    x0, y0, x1, y1 = parse_numbers(text, "bbox", 4)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
