"""``/arcbridge/health``, ``/arcbridge/ready`` and ``/arcbridge/metrics`` on a real gateway process, real backends
(one of them stopped) and, for ``--workers 2``, the values summed over both workers."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.backends.servers import FastCgiBackend
from tests.fakes import RefusingProxy
from tests.gateway import Gateway, fetch, free_port

pytestmark = pytest.mark.backend

EXPORT = {"bbox": "-21.5,30,40,70", "size": "256,256", "f": "image"}


def services(mapserver: FastCgiBackend, stopped_url: str | None = None) -> dict[str, object]:
    found: dict[str, object] = {
        "ops/World": {"type": "MapServer", "layers": ["cities", "regions", "rgb"],
                      "backend": {"url": mapserver.url, "flavor": "mapserver"}},
    }
    if stopped_url is not None:
        found["ops/Gone"] = {"type": "MapServer", "backend": {"url": stopped_url, "flavor": "mapserver",
                                                              "timeout": 3, "connectTimeout": 2}}
    return {"cache": {"logInterval": 0}, "services": found}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, parsed by prometheus-client's own parser."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(page: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(gateway: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = fetch(gateway.url + "/arcbridge/metrics")
    assert reply.status == 200 and reply.content_type == "text/plain"
    return samples(reply.body.decode())


def test_health_and_ready_name_a_stopped_backend(mapserver: FastCgiBackend, tmp_path: Path) -> None:
    stopped = f"http://127.0.0.1:{free_port()}/wms"  # nothing listens there
    with Gateway(services(mapserver, stopped), tmp_path) as gateway:
        health = fetch(gateway.url + "/arcbridge/health")
        assert health.status == 200 and health.json()["status"] == "ok"
        ready = fetch(gateway.url + "/arcbridge/ready")
        assert ready.status == 503, ready.body
        doc = ready.json()
        assert doc["status"] == "not ready" and doc["failing"] == [stopped]
        by_url = {b["url"]: b for b in doc["backends"]}
        assert by_url[stopped]["services"] == ["ops/Gone"] and by_url[stopped]["ok"] is False
        assert "could not be reached" in by_url[stopped]["error"]
        assert by_url[mapserver.url.split("?")[0]]["ok"] is True
        assert doc["sharedCache"] is None  # no cache.redis configured
        # the failure is counted as a backend error, and the process keeps serving the other service
        assert value(scrape(gateway), "arcbridge_backend_errors_total", backend=stopped,
                     error="BackendError") >= 1
        assert fetch(gateway.services_url("ops/World") + "/export", EXPORT).status == 200
        assert fetch(gateway.url + "/arcbridge/health").status == 200


def test_ready_when_every_backend_answers(mapserver: FastCgiBackend, tmp_path: Path, redis_url: str) -> None:
    config = services(mapserver)
    config["cache"] = {"logInterval": 0, "redis": redis_url}
    with Gateway(config, tmp_path) as gateway:
        ready = fetch(gateway.url + "/arcbridge/ready")
        assert ready.status == 200, ready.body
        doc = ready.json()
        assert doc["status"] == "ready" and doc["failing"] == [] and doc["services"] == 1
        assert doc["sharedCache"]["state"] == "closed"
        assert fetch(gateway.url + "/arcbridge/stats").json()["cache"]["shared"]["state"] == "closed"
        assert value(scrape(gateway), "arcbridge_shared_cache_breaker_state") == 0


def test_metrics_move_with_requests(mapserver: FastCgiBackend, tmp_path: Path) -> None:
    with Gateway(services(mapserver), tmp_path) as gateway:
        before = scrape(gateway)
        url = gateway.services_url("ops/World") + "/export"
        for _ in range(5):
            assert fetch(url, EXPORT).status == 200
        assert fetch(url, {**EXPORT, "bbox": "nonsense"}).status == 400
        assert fetch(gateway.services_url("ops/World") + "/0/query", {"where": "1=1", "f": "json"}).status == 200
        time.sleep(1.5)  # the cache counters are copied every second (and before each scrape)
        after = scrape(gateway)
        labels = {"service": "ops/World", "operation": "MapServer/export"}
        assert value(after, "arcbridge_requests_total", **labels, status="200") - \
            value(before, "arcbridge_requests_total", **labels, status="200") == 5
        assert value(after, "arcbridge_requests_total", **labels, status="400") == 1
        assert value(after, "arcbridge_requests_total", service="ops/World", operation="MapServer/*/query",
                     status="200") == 1
        assert value(after, "arcbridge_request_duration_seconds_count", **labels) == 6
        assert value(after, "arcbridge_request_duration_seconds_bucket", **labels, le="+Inf") == 6
        assert value(after, "arcbridge_request_duration_seconds_sum", **labels) > 0
        assert value(after, "arcbridge_cache_total", event="misses") >= 1
        assert value(after, "arcbridge_cache_total", event="hits") >= 4
        assert value(after, "arcbridge_cache_memory_bytes") > 0
        backend = mapserver.url.split("?")[0]
        assert value(after, "arcbridge_backend_request_duration_seconds_count", backend=backend) >= 2
        # the scrape itself is counted like any request
        assert value(after, "arcbridge_requests_total", service="", operation="arcbridge/metrics", status="200") >= 1


def test_metrics_summed_over_workers(mapserver: FastCgiBackend, tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("arcbridge-metrics-*"))
    gateway = Gateway(services(mapserver), tmp_path, ("--workers", "2")).start()
    made = set(Path(tempfile.gettempdir()).glob("arcbridge-metrics-*")) - before
    assert len(made) == 1 and any(next(iter(made)).iterdir())  # the run's directory of multiprocess values
    try:
        pids = set()
        url = gateway.url + "/arcgis/rest/info"
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(fetch(gateway.url + "/arcbridge/stats").json()["pid"])
        assert len(pids) == 2
        for _ in range(40):
            assert fetch(url, {"f": "json"}).status == 200
        time.sleep(1.5)  # each worker hands its counts to the shared values every second
        seen = {value(scrape(gateway), "arcbridge_requests_total", service="", operation="info", status="200")
                for _ in range(6)}
        # whichever worker answers the scrape, it shows the sum: the start-up probes plus these 40
        assert len(seen) == 1 and min(seen) >= 40, seen
    finally:
        assert gateway.stop() == 0
    assert not any(path.exists() for path in made)  # removed with the run


def test_ready_follows_the_last_contact(mapserver: FastCgiBackend, tmp_path: Path) -> None:
    proxy = RefusingProxy(mapserver.url).__enter__()  # a backend that can be stopped: forwards to MapServer
    config = {"cache": {"logInterval": 0}, "services": {"ops/Proxied": {
        "type": "MapServer", "layers": ["regions"], "backend": {"url": proxy.url, "flavor": "mapserver"}}}}
    try:
        with Gateway(config, tmp_path) as gateway:
            url = gateway.services_url("ops/Proxied") + "/export"
            assert fetch(url, EXPORT).status == 200
            assert fetch(gateway.url + "/arcbridge/ready").status == 200
            proxy.__exit__()
            assert fetch(url, {**EXPORT, "bbox": "0,0,10,10"}).status == 502  # a new picture: the backend is gone
            ready = fetch(gateway.url + "/arcbridge/ready")
            assert ready.status == 503 and ready.json()["failing"] == [proxy.url]
            assert fetch(url, EXPORT).status == 200  # what is cached is still served
            assert fetch(gateway.url + "/arcbridge/health").status == 200
    finally:
        proxy.__exit__()
