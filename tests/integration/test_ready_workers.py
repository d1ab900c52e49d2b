"""``/arcbridge/ready`` answers for the whole gateway with ``--workers 2``: a backend failure seen by one worker makes
every worker unready, naming it, and a success seen by one makes every worker ready again.  The backend is a real
MapProxy (over the test MapServer) stopped and started again on its port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends.mapproxy import MapProxyBackend
from tests.backends.servers import FastCgiBackend
from tests.gateway import Gateway, fetch

pytestmark = pytest.mark.backend

EXPORT = {"size": "64,64", "f": "image"}


@pytest.fixture
def mapproxy(mapserver: FastCgiBackend, tmp_path: Path) -> Iterator[MapProxyBackend]:
    if reason := MapProxyBackend.unavailable():
        pytest.skip(reason)
    run_dir = tmp_path / "mapproxy"
    run_dir.mkdir()
    with MapProxyBackend(mapserver.url, run_dir) as backend:
        yield backend


def ready_answers(gateway: Gateway, pids: set[int]) -> list[tuple[int, dict[str, Any]]]:
    """``/ready`` asked until each worker has answered at least 3 times (new connections: the kernel spreads them
    over the workers' shared port)."""
    answers: list[tuple[int, dict[str, Any]]] = []
    for _ in range(60):
        reply = fetch(gateway.url + "/arcbridge/ready")
        answers.append((reply.status, reply.json()))
        if all(sum(doc["pid"] == pid for _, doc in answers) >= 3 for pid in pids):
            return answers
    raise AssertionError(f"not every worker answered: {[doc['pid'] for _, doc in answers]}")


def test_ready_is_gateway_wide(mapserver: FastCgiBackend, mapproxy: MapProxyBackend, tmp_path: Path) -> None:
    config = {"cache": {"logInterval": 0}, "services": {
        "ops/World": {"type": "MapServer", "layers": ["regions"],
                      "backend": {"url": mapserver.url, "flavor": "mapserver"}},
        "ops/Proxied": {"type": "MapServer", "layers": ["regions"],
                        "backend": {"url": mapproxy.url, "flavor": "generic", "timeout": 5, "connectTimeout": 2}}}}
    with Gateway(config, tmp_path, ("--workers", "2")) as gateway:
        pids = set()
        deadline = time.monotonic() + 20  # the second worker may still be starting
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(fetch(gateway.url + "/arcbridge/stats").json()["pid"])
        assert len(pids) == 2
        export = gateway.services_url("ops/Proxied") + "/export"
        assert fetch(export, {**EXPORT, "bbox": "-20,30,40,70"}).status == 200
        assert all(status == 200 for status, _ in ready_answers(gateway, pids))

        mapproxy.stop()
        assert fetch(export, {**EXPORT, "bbox": "0,0,10,10"}).status == 502  # a new picture: one worker fails
        answers = ready_answers(gateway, pids)
        assert all(status == 503 for status, _ in answers), [status for status, _ in answers]
        assert all(doc["failing"] == [mapproxy.url] for _, doc in answers)
        failures = [b for _, doc in answers for b in doc["backends"] if b["url"] == mapproxy.url]
        assert len({b["contactBy"] for b in failures}) == 1  # the contact one worker made, reported by both
        assert {doc["pid"] for _, doc in answers} == pids
        assert all(b["ok"] is False and "could not be reached" in b["error"] for b in failures)
        mapserver_entry = [b for _, doc in answers for b in doc["backends"] if b["url"] != mapproxy.url]
        assert all(b["ok"] for b in mapserver_entry)

        mapproxy.start()
        assert fetch(export, {**EXPORT, "bbox": "0,0,10,10"}).status == 200  # back: one worker succeeds
        # A worker that answered well less than a second before records this success as a time only and tells the
        # others within a second (its one-second loop); no further backend request is made meanwhile.
        deadline = time.monotonic() + 3
        while fetch(gateway.url + "/arcbridge/ready").status != 200 or \
                any(status != 200 for status, _ in ready_answers(gateway, pids)):
            assert time.monotonic() < deadline, [doc for _, doc in ready_answers(gateway, pids)]
            time.sleep(0.1)
        answers = ready_answers(gateway, pids)
        assert all(status == 200 for status, _ in answers), [doc["backends"] for _, doc in answers]
        assert all(doc["status"] == "ready" and doc["failing"] == [] for _, doc in answers)
