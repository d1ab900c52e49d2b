"""What a test needs from the machine (a backend, Redis, Chromium): missing under CI is a failure, never a skip."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """A test dependency is missing: CI installs every one, so there it fails the test; elsewhere it is skipped."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
