"""A SIGHUP reload keeps the in-process cache when the cache settings are the same: an export warmed before is a hit
after, with no backend request, while a service whose layers or backend changed answers afresh; changed cache
settings start an empty cache.  Real gateway process, the real MapServer behind a recording proxy."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.backends.servers import FastCgiBackend
from tests.fakes import RefusingProxy
from tests.gateway import Gateway, Reply, fetch

pytestmark = pytest.mark.backend

EXPORT = {"bbox": "-21.5,30,40,70", "size": "64,64", "format": "png", "f": "image"}


def config(world_layers: list[str], world_url: str, other_url: str, memory: str = "64MB",
           extra: dict[str, Any] | None = None) -> dict[str, Any]:
    def service(url: str, layers: list[str]) -> dict[str, Any]:
        return {"type": "MapServer", "layers": layers, "backend": {"url": url, "flavor": "mapserver"}}

    return {"cache": {"logInterval": 0, "memory": memory},
            "services": {"a/World": service(world_url, world_layers), "a/Other": service(other_url, ["cities"]),
                         **(extra or {})}}


def reload(gateway: Gateway, settings: dict[str, Any]) -> None:
    """Write the new configuration, SIGHUP, and wait for the reload's log line."""
    assert gateway.proc is not None
    before = gateway.log().count("configuration reloaded from")
    (gateway.workdir / "gateway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    gateway.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while gateway.log().count("configuration reloaded from") == before:
        assert time.monotonic() < deadline, gateway.log()
        time.sleep(0.05)


def getmaps(proxy: RefusingProxy) -> list[dict[str, str]]:
    return [r for r in proxy.requests if r.get("REQUEST", "").lower() == "getmap"]


def export(gateway: Gateway, service: str) -> Reply:
    reply = fetch(gateway.services_url(service) + "/export", EXPORT)
    assert reply.status == 200 and reply.content_type == "image/png", reply.body[:300]
    return reply


def test_reload_keeps_the_cache_of_unchanged_services(mapserver: FastCgiBackend, tmp_path: Path) -> None:
    with RefusingProxy(mapserver.url) as proxy, \
            Gateway(config(["regions"], proxy.url, proxy.url), tmp_path) as gateway:
        world = export(gateway, "a/World")
        other = export(gateway, "a/Other")
        assert (world.headers["X-Arcbridge-Cache"], other.headers["X-Arcbridge-Cache"]) == ("miss", "miss")
        assert export(gateway, "a/World").headers["X-Arcbridge-Cache"] == "hit"
        href = fetch(gateway.services_url("a/World") + "/export", {**EXPORT, "f": "json"}).json()["href"]
        sent = len(proxy.requests)

        # an unrelated change: one more service (the catalog shows it: the new configuration is in force)
        reload(gateway, config(["regions"], proxy.url, proxy.url, extra={"a/Added": {
            "type": "MapServer", "layers": ["rgb"], "backend": {"url": proxy.url, "flavor": "mapserver"}}}))
        assert "a/Added" in {s["name"] for s in fetch(gateway.url + "/arcgis/rest/services/a",
                                                      {"f": "json"}).json()["services"]}
        again = export(gateway, "a/World")
        assert again.headers["X-Arcbridge-Cache"] == "hit" and again.body == world.body
        assert export(gateway, "a/Other").headers["X-Arcbridge-Cache"] == "hit"
        assert len(proxy.requests) == sent  # no backend request at all: the URLs and pictures are kept
        output = fetch(href)  # an f=json output made before the reload is still there
        assert output.status == 200 and output.body == world.body
        drawn = len(getmaps(proxy))
        respelled = fetch(gateway.services_url("a/World") + "/export", {**EXPORT, "bbox": "-21.5,30.0,40.0,70.0"})
        assert respelled.headers["X-Arcbridge-Cache"] == "hit" and respelled.body == world.body
        assert len(getmaps(proxy)) == drawn  # planned again (capabilities read again), the picture from memory
        stats = fetch(gateway.url + "/arcbridge/stats").json()["cache"]
        assert stats["memory"]["entries"] > 0 and stats["hits"] >= 3  # the same cache and statistics
        assert "the cache is kept" in gateway.log()

        # a/World now draws another layer: its answers are fresh; a/Other is untouched
        reload(gateway, config(["rgb"], proxy.url, proxy.url))
        changed = export(gateway, "a/World")
        assert changed.headers["X-Arcbridge-Cache"] == "miss" and changed.body != world.body
        assert getmaps(proxy)[-1]["LAYERS"] == "rgb"
        assert export(gateway, "a/Other").headers["X-Arcbridge-Cache"] == "hit"
        assert "less the services that changed: a/world" in gateway.log()

        # a/Other now goes to the backend directly (another backend URL): fresh, though its layers are the same
        reload(gateway, config(["rgb"], proxy.url, mapserver.url))
        sent = len(proxy.requests)
        moved = export(gateway, "a/Other")
        assert moved.headers["X-Arcbridge-Cache"] == "miss"
        assert len(proxy.requests) == sent  # not through the proxy any more
        assert export(gateway, "a/World").headers["X-Arcbridge-Cache"] == "hit"

        # other cache settings: a cache of their own, empty
        reload(gateway, config(["rgb"], proxy.url, mapserver.url, memory="32MB"))
        assert export(gateway, "a/World").headers["X-Arcbridge-Cache"] == "miss"
        assert "the cache starts empty" in gateway.log()
    assert "Traceback" not in gateway.log()
