"""The cache through the real gateway: hits, validators, coalescing, stale-if-error, processes sharing Redis."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.backends.servers import FastCgiBackend, MapServerBackend
from tests.gateway import Gateway, fetch
from tests.pixels import mismatch_fraction, rgba
from tests.redis_server import RedisServer

pytestmark = pytest.mark.backend


def stats(gateway: Gateway) -> dict[str, Any]:
    data: dict[str, Any] = fetch(gateway.url + "/arcbridge/stats").json()["cache"]
    return data


def unique_bbox() -> str:
    x = random.uniform(-150, 100)
    y = random.uniform(-60, 40)
    return f"{x:.6f},{y:.6f},{x + 30:.6f},{y + 20:.6f}"


def export(gateway: Gateway, service: str = "ms/World", headers: dict[str, str] | None = None,
           **params: Any) -> Any:
    params.setdefault("f", "image")
    params.setdefault("size", "300,200")
    return fetch(gateway.services_url(service) + "/export", params, headers=headers)


def test_hits_validators_and_cache_control(gateway: Gateway) -> None:
    bbox = unique_bbox()
    first = export(gateway, bbox=bbox)
    assert first.status == 200 and first.headers["X-Arcbridge-Cache"] == "miss"
    second = export(gateway, bbox=bbox)
    assert second.headers["X-Arcbridge-Cache"] == "hit" and second.body == first.body
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    again = export(gateway, bbox=bbox, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304 and again.body == b""
    since = export(gateway, bbox=bbox, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status == 304
    other = export(gateway, bbox=bbox, headers={"If-None-Match": '"something-else"'})
    assert other.status == 200 and other.body == first.body
    root = fetch(gateway.services_url("ms/World"), {"f": "json"})
    assert fetch(gateway.services_url("ms/World"), {"f": "json"},
                 headers={"If-None-Match": root.headers["ETag"]}).status == 304
    error = export(gateway, bbox="1,2,3")
    assert error.status == 400 and error.headers["Cache-Control"] == "no-store"


def test_the_lean_hit_path_answers_as_the_full_path_does(gateway: Gateway) -> None:
    """A repeated URL is answered before aiohttp's router and the middleware (proxy.cache.fast.answer_hits_first):
    the same headers as the miss but for X-Arcbridge-Cache, CORS included; the gateway's refusals still apply."""
    bbox = unique_bbox()
    first = export(gateway, bbox=bbox)
    hits = [export(gateway, bbox=bbox) for _ in range(3)]
    assert first.status == 200 and all(h.status == 200 and h.body == first.body for h in hits)
    names = {"Content-Type", "ETag", "Last-Modified", "Cache-Control", "Access-Control-Allow-Origin",
             "Access-Control-Allow-Methods", "Access-Control-Expose-Headers", "Access-Control-Max-Age"}
    for hit in hits:
        assert hit.headers["X-Arcbridge-Cache"] == "hit"
        assert {n: hit.headers[n] for n in names} == {n: first.headers[n] for n in names}
    assert int(hits[0].headers["Content-Length"]) == len(first.body)
    refused = export(gateway, bbox=bbox, headers={"X-Big": "x" * 17000})
    assert refused.status == 431 and refused.json()["error"]["code"] == 431
    assert export(gateway, bbox=bbox, headers={"If-None-Match": first.headers["ETag"]}).status == 304
    # … and what the middlewares do for every answer: the request id echoed (given, or made fresh per request)
    traced = export(gateway, bbox=bbox, headers={"X-Request-ID": "trace-7"})
    assert traced.headers["X-Arcbridge-Cache"] == "hit" and traced.headers["X-Request-ID"] == "trace-7"
    assert hits[0].headers["X-Request-ID"] != hits[1].headers["X-Request-ID"]


def test_same_meaning_shares_entries_and_differences_do_not(gateway: Gateway) -> None:
    x, y = round(random.uniform(-150, 100), 3), round(random.uniform(-60, 40), 3)
    base = export(gateway, bbox=f"{x},{y},{x + 30},{y + 20}", format="png32")
    assert base.headers["X-Arcbridge-Cache"] == "miss"
    before = stats(gateway)["backendRequests"]
    # same request spelled differently: parameter case and order, reversed axes, float formatting, cache busters
    variants = [
        {"BBOX": f"{x},{y + 20},{x + 30},{y}", "FORMAT": "PNG32"},
        {"bbox": f"{x:.6f},{y:.6e},{x + 30:.6f},{y + 20:.8e}", "format": "png32", "_ts": "12345"},
        {"bbox": f"{x},{y},{x + 30},{y + 20}", "format": "png32", "dpi": "96", "transparent": "false",
         "bboxSR": "4326", "imageSR": "4326", "token": "abc"},
    ]
    for variant in variants:
        reply = export(gateway, **variant)
        assert reply.status == 200 and reply.body == base.body
        assert reply.headers["X-Arcbridge-Cache"] == "hit", variant  # the composed answer itself, not only its GetMap
        assert reply.headers["ETag"] == base.headers["ETag"]
    assert stats(gateway)["backendRequests"] == before  # every variant was served from cache
    # any real difference is another entry
    for change in ({"format": "png32", "dpi": "120"}, {"format": "png32", "transparent": "true"},
                   {"format": "png32", "layers": "show:2"}, {"format": "jpg"}):
        reply = export(gateway, bbox=f"{x},{y},{x + 30},{y + 20}", **change)
        assert reply.headers["X-Arcbridge-Cache"] == "miss", change
    assert stats(gateway)["backendRequests"] == before + 4


def test_a_passed_through_export_is_one_entry_keyed_by_its_getmap(gateway: Gateway) -> None:
    """``png`` is the backend's own bytes: one entry under the normalised GetMap, shared by every export that sends
    that GetMap (``png24`` opaque sends the same one); a composed answer (``png32``) reuses the GetMap entry and adds
    its own."""
    bbox = unique_bbox()
    export(gateway, bbox="0,0,1,1")  # capabilities loaded
    before = stats(gateway)
    first = export(gateway, bbox=bbox, format="png")
    assert first.status == 200 and first.content_type == "image/png"
    assert first.headers["X-Arcbridge-Cache"] == "miss"
    middle = stats(gateway)
    assert middle["memory"]["entries"] - before["memory"]["entries"] == 1
    assert middle["backendRequests"] - before["backendRequests"] == 1
    same_getmap = export(gateway, bbox=bbox, format="png24", dpi="96")
    assert same_getmap.headers["X-Arcbridge-Cache"] == "hit" and same_getmap.body == first.body
    assert same_getmap.content_type == "image/png" and same_getmap.headers["ETag"] == first.headers["ETag"]
    composed = export(gateway, bbox=bbox, format="png32")
    assert composed.status == 200 and composed.headers["X-Arcbridge-Cache"] == "miss"
    after = stats(gateway)
    assert after["backendRequests"] == middle["backendRequests"], "the composed answer reused the GetMap entry"
    assert after["memory"]["entries"] - middle["memory"]["entries"] == 1
    assert Image.open(io.BytesIO(composed.body)).mode == "RGBA" and Image.open(io.BytesIO(first.body)).mode == "RGB"
    assert mismatch_fraction(rgba(composed.body), rgba(first.body)) == 0


def test_concurrent_identical_misses_make_one_backend_request(gateway: Gateway) -> None:
    bbox = unique_bbox()
    export(gateway, bbox="0,0,1,1")  # capabilities loaded
    before = stats(gateway)
    with ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(lambda _: export(gateway, bbox=bbox, size="512,512"), range(50)))
    after = stats(gateway)
    assert all(r.status == 200 for r in replies)
    assert len({r.body for r in replies}) == 1
    assert after["backendRequests"] - before["backendRequests"] == 1
    assert after["coalesced"] - before["coalesced"] + (after["hits"] - before["hits"]) == 49


def test_image_server_answers_are_cached(gateway: Gateway) -> None:
    url = gateway.services_url("img/Elevation", "ImageServer") + "/exportImage"
    params = {"bbox": f"{random.uniform(0, 5):.5f},41,9,49", "size": "100,100", "format": "tiff", "f": "image"}
    assert fetch(url, params).headers["X-Arcbridge-Cache"] == "miss"
    assert fetch(url, params).headers["X-Arcbridge-Cache"] == "hit"


def test_image_server_answers_are_keyed_by_their_meaning(gateway: Gateway) -> None:
    url = gateway.services_url("img/Elevation", "ImageServer") + "/exportImage"
    x = round(random.uniform(0, 5), 4)
    rule = '{"rasterFunction": "Stretch", "rasterFunctionArguments": {"StretchType": 5, "Min": 0, "Max": 255}}'
    base = {"bbox": f"{x},41,9,49", "size": "120,100", "format": "png", "f": "image", "renderingRule": rule}
    first = fetch(url, base)
    assert first.status == 200 and first.headers["X-Arcbridge-Cache"] == "miss"
    before = stats(gateway)["backendRequests"]
    same = [
        {"BBOX": f"{x:.6f},41.0,9e0,49", "renderingRule": '{"rasterFunctionArguments": {"Max": 255.0, "Min": 0, '
                                                          '"StretchType": 5}, "rasterFunction": "stretch"}'},
        {"format": "PNG", "_ts": "99", "token": "t", "interpolation": "rsp_nearestneighbor"},  # the default, spelt
    ]
    for change in same:
        reply = fetch(url, {**base, **change})
        assert reply.status == 200 and reply.headers["X-Arcbridge-Cache"] == "hit", change
        assert reply.body == first.body and reply.headers["ETag"] == first.headers["ETag"]
    assert stats(gateway)["backendRequests"] == before
    for change in ({"renderingRule": rule.replace('"Max": 255', '"Max": 200')}, {"format": "jpg"},
                   {"size": "121,100"}, {"interpolation": "RSP_BilinearInterpolation"}):
        reply = fetch(url, {**base, **change})
        assert reply.status == 200 and reply.headers["X-Arcbridge-Cache"] == "miss", change


def test_admin_endpoint_is_off_by_default_and_stats_are_visible(gateway: Gateway) -> None:
    reply = fetch(gateway.url + "/arcbridge/admin/purge", data={"service": "ms/World"})
    assert reply.status == 404
    data = stats(gateway)
    assert {"hits", "misses", "coalesced", "stale", "evictions", "backendRequests", "memory"} <= set(data)
    assert data["memory"]["maxBytes"] == 128 * 1024 * 1024 and data["memory"]["bytes"] > 0
    assert "ms/world" in data["services"]


@pytest.fixture
def own_backend(backend_data: Path) -> Iterator[FastCgiBackend]:
    with MapServerBackend(backend_data) as backend:
        yield backend


def test_stale_if_error_with_the_backend_stopped(own_backend: FastCgiBackend, tmp_path: Path) -> None:
    config = {"cache": {"ttl": 1, "logInterval": 0},
              "services": {"s/World": {"type": "MapServer", "layers": ["cities", "regions", "rgb"],
                                       "backend": {"url": own_backend.url, "flavor": "mapserver",
                                                   "capabilitiesTTL": 0.5, "timeout": 3}}}}
    with Gateway(config, tmp_path) as gateway:
        warm = export(gateway, "s/World", bbox="-20,30,40,70")
        assert warm.status == 200 and "X-Arcbridge-Stale" not in warm.headers
        own_backend.stop()
        time.sleep(1.3)  # the entry and the capabilities are past their TTL now
        stale = export(gateway, "s/World", bbox="-20,30,40,70")
        assert stale.status == 200 and stale.body == warm.body
        assert "s/world" in stale.headers["X-Arcbridge-Stale"] and "110" in stale.headers["Warning"]
        root = fetch(gateway.services_url("s/World"), {"f": "json"})
        time.sleep(0.3)  # the background refresh has failed by now
        root = fetch(gateway.services_url("s/World"), {"f": "json"})
        assert root.status == 200 and "capabilities" in root.headers["X-Arcbridge-Stale"]
        assert root.json()["layers"][0]["name"] == "cities"
        missing = export(gateway, "s/World", bbox="-10,30,40,70")  # never cached: nothing to fall back on
        assert missing.status == 502


def test_two_processes_share_redis(mapserver: FastCgiBackend, redis_url: str, tmp_path: Path) -> None:
    config = {"cache": {"redis": redis_url, "logInterval": 0},
              "admin": {"enabled": True, "token": "s3cret"},
              "services": {"r/World": {"type": "MapServer", "layers": ["cities", "regions", "rgb"],
                                       "backend": {"url": mapserver.url, "flavor": "mapserver"}}}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with Gateway(config, tmp_path / "a") as first, Gateway(config, tmp_path / "b") as second:
        bbox = unique_bbox()
        made = export(first, "r/World", bbox=bbox)
        assert made.headers["X-Arcbridge-Cache"] == "miss"
        fetch(second.services_url("r/World"), {"f": "json"})  # capabilities loaded on the second
        before = stats(second)["backendRequests"]
        shared = export(second, "r/World", bbox=bbox)
        assert shared.headers["X-Arcbridge-Cache"] == "hit" and shared.body == made.body
        assert stats(second)["backendRequests"] == before
        assert stats(second)["shared"]["hits"] >= 1
        # an f=json href made by one process is served by the other
        href = export(first, "r/World", bbox=bbox, f="json").json()["href"]
        other = fetch(href.replace(f":{first.port}/", f":{second.port}/"))
        assert other.status == 200 and mismatch_fraction(rgba(other.body), rgba(made.body)) == 0
        # purge (admin endpoint, token-guarded) drops the shared entries
        denied = fetch(first.url + "/arcbridge/admin/purge", data={"service": "r/World"})
        assert denied.status == 403
        purged = fetch(first.url + "/arcbridge/admin/purge", data={"service": "r/World"},
                       headers={"Authorization": "Bearer s3cret"})
        assert purged.status == 200 and purged.json()["dropped"] >= 2
        assert export(first, "r/World", bbox=bbox).headers["X-Arcbridge-Cache"] == "miss"


@pytest.mark.parametrize(("base", "change"), [
    ({"format": "tiff"}, {"compression": "LZ77"}),
    ({"format": "jpg"}, {"compressionQuality": "10"}),
    ({"format": "lerc"}, {"compressionTolerance": "50"}),
    ({"format": "lerc"}, {"lercVersion": "1"}),
    ({"format": "tiff"}, {"pixelType": "S16"}),
])
def test_image_server_answers_differ_by_every_parameter_that_changes_the_bytes(
        gateway: Gateway, base: dict[str, str], change: dict[str, str]) -> None:
    url = gateway.services_url("img/Elevation", "ImageServer") + "/exportImage"
    params = {"bbox": f"{random.uniform(0, 5):.5f},41,9,49", "size": "64,64", "f": "image", **base}
    first = fetch(url, params)
    assert first.status == 200 and first.headers["X-Arcbridge-Cache"] == "miss"
    assert fetch(url, params).headers["X-Arcbridge-Cache"] == "hit"
    other = fetch(url, {**params, **change})
    assert other.status == 200 and other.headers["X-Arcbridge-Cache"] == "miss", change
    assert other.body != first.body


def test_a_hung_redis_does_not_hold_requests(mapserver: FastCgiBackend, own_redis: RedisServer,
                                             tmp_path: Path) -> None:
    config = {"cache": {"redis": own_redis.url, "logInterval": 0, "redisTimeout": 0.3, "redisCooldown": 1},
              "services": {"h/World": {"type": "MapServer", "layers": ["cities", "regions", "rgb"],
                                       "backend": {"url": mapserver.url, "flavor": "mapserver"}}}}
    with Gateway(config, tmp_path) as gateway:
        assert export(gateway, "h/World", bbox=unique_bbox()).status == 200  # capabilities loaded, Redis used
        assert stats(gateway)["shared"]["state"] == "closed"
        own_redis.hang()  # stopped, not dead: connections are accepted and never answered
        try:
            start = time.monotonic()
            answers = [export(gateway, "h/World", bbox=unique_bbox()) for _ in range(6)]
            href = export(gateway, "h/World", bbox=unique_bbox(), f="json").json()["href"]
            image = fetch(href)  # the f=json output store shares its files through the same tier
            took = time.monotonic() - start
            assert [a.status for a in answers] == [200] * 6 and image.status == 200
            assert took < 3, f"{took:.1f}s for 6 exports and an f=json export with a hung Redis"
            shared = stats(gateway)["shared"]
            assert shared["state"] in ("open", "half-open") and shared["skipped"] > 0
            assert shared["lastFailure"] is not None and shared["errors"] >= 1
        finally:
            own_redis.resume()
        deadline = time.monotonic() + 10  # the next probe after the cool-down closes the breaker
        while stats(gateway)["shared"]["state"] != "closed" and time.monotonic() < deadline:
            export(gateway, "h/World", bbox=unique_bbox())
            time.sleep(0.2)
        assert stats(gateway)["shared"]["state"] == "closed"
        assert gateway.log().count("breaker open, calls skipped") == 1 and gateway.log().count("breaker closed") == 1
