"""The workers' shared backend contacts (``proxy.ops.health``): the newest contact of a backend over every worker's
file wins, and an answer recorded as a time only (the busy backends' path) still reaches the file within a second."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from proxy.ops import health, metrics


@pytest.fixture
def shared_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    for name in ("_LAST", "_answered_at", "_shared"):
        monkeypatch.setattr(health, name, {})
    monkeypatch.setattr(health, "_written_at", 0.0)
    return tmp_path


def own_file(directory: Path) -> dict[str, list[object]]:
    data: dict[str, list[object]] = json.loads((directory / f"contacts-{os.getpid()}.json").read_text())
    return data


def test_the_newest_contact_over_the_workers_wins(shared_dir: Path) -> None:
    health.answered("http://b/ows", 0.01, 200)
    first = health.contacts()["http://b/ows"]
    assert first.ok and first.pid == os.getpid()
    assert own_file(shared_dir)["http://b/ows"][0] is True  # a backend not written yet: written at once
    # another worker (pid 1) failed to reach it a little later
    (shared_dir / "contacts-1.json").write_text(json.dumps({"http://b/ows": [False, first.at + 0.05, None, "down"]}))
    seen = health.contacts()["http://b/ows"]
    assert (seen.ok, seen.pid, seen.error) == (False, 1, "down")
    time.sleep(0.1)
    health.answered("http://b/ows", 0.01, 200)  # within a second of the first: recorded as a time only
    assert own_file(shared_dir)["http://b/ows"][1] == first.at  # not written yet
    again = health.contacts()["http://b/ows"]
    assert again.ok and again.pid == os.getpid() and again.at > first.at + 0.05
    health.share()  # the one-second loop: the newer answer reaches this worker's file
    written = own_file(shared_dir)["http://b/ows"]
    assert written[0] is True and written[1] == again.at
    health.share()
    assert own_file(shared_dir)["http://b/ows"][1] == again.at  # nothing newer: the file is left as it is


def test_a_failure_is_written_at_once_and_a_repeated_one_within_a_second(shared_dir: Path) -> None:
    health.answered("http://b/ows", 0.01, 200)
    health.failed("http://b/ows", 0.01, ConnectionError("refused"))
    assert own_file(shared_dir)["http://b/ows"][:1] == [False]  # a change of state: at once
    first_failure = own_file(shared_dir)["http://b/ows"][1]
    health.failed("http://b/ows", 0.01, ConnectionError("refused again"))
    assert own_file(shared_dir)["http://b/ows"][1] == first_failure  # the same state within a second: later
    health.share()
    assert own_file(shared_dir)["http://b/ows"][3] == "refused again"
    health.answered("http://b/ows", 0.01, 503)  # a 5xx answer is a failure
    assert health.contacts()["http://b/ows"].status == 503


def test_one_process_keeps_its_contacts_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    monkeypatch.setattr(health, "_LAST", {})
    monkeypatch.setattr(health, "_answered_at", {})
    health.answered("http://b/ows", 0.01, 200)
    first = health.contacts().get("http://b/ows")
    assert first is not None and first.ok
    time.sleep(0.05)
    health.answered("http://b/ows", 0.01, 200)  # a time only: still the newest contact this process reports
    again = health.contacts().get("http://b/ows")
    assert again is not None and again.at > first.at
