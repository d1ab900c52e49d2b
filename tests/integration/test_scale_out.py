"""``serve --workers``, ``seed`` and ``purge`` against real backends and a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proxy.tools import seed_requests
from tests.backends.servers import FastCgiBackend
from tests.gateway import ROOT, Gateway, fetch

pytestmark = pytest.mark.backend


def config(mapserver: FastCgiBackend, redis_url: str, **extra: object) -> dict[str, object]:
    return {"cache": {"redis": redis_url, "logInterval": 0}, **extra,
            "services": {"w/World": {"type": "MapServer", "layers": ["cities", "regions", "rgb"],
                                     "backend": {"url": mapserver.url, "flavor": "mapserver"}}}}


def test_workers_share_the_port_and_the_cache(mapserver: FastCgiBackend, redis_url: str, tmp_path: Path) -> None:
    gateway = Gateway(config(mapserver, redis_url), tmp_path, ("--workers", "2")).start()
    try:
        pids = set()
        deadline = time.monotonic() + 20  # the second worker may still be starting
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(fetch(gateway.url + "/arcbridge/stats").json()["pid"])
        assert len(pids) == 2  # the kernel spreads connections over both processes
        url = gateway.services_url("w/World") + "/export"
        params = {"bbox": "-21.5,30,40,70", "size": "256,256", "f": "image"}
        first = fetch(url, params)
        statuses = {fetch(url, params).headers["X-Arcbridge-Cache"] for _ in range(20)}
        assert first.status == 200 and statuses == {"hit"}  # whichever worker answers, the entry is shared
    finally:
        assert gateway.stop() == 0
    for pid in pids:  # the workers are gone with the parent
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_seed_then_hits_and_purge(mapserver: FastCgiBackend, redis_url: str, tmp_path: Path) -> None:
    settings = config(mapserver, redis_url, admin={"enabled": True, "token": "t0k"})
    with Gateway(settings, tmp_path) as gateway:
        command = [sys.executable, "-m", "proxy", "seed", "--url", gateway.url, "--service", "w/World",
                   "--bbox=-20,30,40,70", "--sizes", "256", "--scales", "2e7", "--format", "png32"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        plan = list(seed_requests((-20.0, 30.0, 40.0, 70.0), "4326", [(256, 256)], [2e7]))
        assert f"seeded {len(plan)} of {len(plan)} images" in done.stdout
        assert f"{len(plan)}/{len(plan)}" in done.stderr  # the progress bar
        tile = plan[len(plan) // 2]
        params = {"bbox": ",".join(repr(v) for v in tile.bbox), "bboxSR": "4326", "imageSR": "4326",
                  "size": "256,256", "format": "png32", "f": "image"}
        url = gateway.services_url("w/World") + "/export"
        assert fetch(url, params).headers["X-Arcbridge-Cache"] == "hit"
        purge = [sys.executable, "-m", "proxy", "purge", "--url", gateway.url, "--service", "w/World", "--token",
                 "t0k"]
        done = subprocess.run(purge, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "dropped" in done.stdout, done.stderr
        assert fetch(url, params).headers["X-Arcbridge-Cache"] == "miss"
        # offline purge of the shared tier from the configuration file
        config_file = tmp_path / "gateway.yaml"
        done = subprocess.run([sys.executable, "-m", "proxy", "purge", "--config", str(config_file), "--service",
                               "w/World"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and int(done.stdout.split()[1]) >= 1, done.stderr
        wrong = subprocess.run([sys.executable, "-m", "proxy", "purge", "--url", gateway.url, "--service",
                                "w/World", "--token", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert wrong.returncode == 1 and "403" in wrong.stderr
