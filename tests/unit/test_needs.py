"""A missing test dependency fails under CI and is skipped elsewhere."""

from __future__ import annotations

import pytest

from tests.clients.harness import fixtures
from tests.needs import unavailable


def test_missing_under_ci_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="nothing here"):
        unavailable("nothing here")


def test_missing_elsewhere_is_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="nothing here"):
        unavailable("nothing here")


def test_chromium_missing_under_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(fixtures.shutil, "which", lambda name: None)
    body = getattr(fixtures.chromium_process, "__wrapped__", None) or fixtures.chromium_process._get_wrapped_function()
    with pytest.raises(pytest.fail.Exception, match="Chromium not installed"):
        next(body())
