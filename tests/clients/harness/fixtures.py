"""pytest fixtures for browser-client tests. Import them into a conftest.py::

    from tests.clients.harness.fixtures import chromium, chromium_process, web_pages  # noqa: F401

* ``chromium_process`` (session, sync): one headless Chromium process for the whole run (launch ~0.5 s).
* ``chromium`` (function, async): a :class:`~tests.clients.harness.chromium.Chromium` connected to that process
  in the test's own event loop; ``await chromium.new_page(w, h)`` gives an isolated page (own browser context),
  closed with the fixture. Relaunches the process if an earlier test crashed it.
* ``web_pages`` (session, sync): :class:`~tests.clients.harness.pages.WebPages` for the static server of
  ``tests/clients/web`` (own thread/loop, so usable from any test loop); ``web_pages.base_url`` is its base URL.
  Installs the JS deps (``scripts/install-js-deps.sh``) if they are missing.

Session-scoped objects are synchronous on purpose: no event-loop scope juggling with pytest-asyncio.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.needs import unavailable

from .chromium import CHROMIUM_EXECUTABLE, Chromium, ChromiumProcess
from .pages import StaticServerThread, WebPages, ensure_js_deps


@pytest.fixture(scope="session")
def chromium_process() -> Iterator[ChromiumProcess]:
    """One headless Chromium for the session (without Chromium: a failure under CI, elsewhere a skip)."""
    if shutil.which(CHROMIUM_EXECUTABLE) is None:
        unavailable(f"Chromium not installed at {CHROMIUM_EXECUTABLE} (scripts/install-system-deps.sh)")
    process = ChromiumProcess()
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest_asyncio.fixture
async def chromium(chromium_process: ChromiumProcess) -> AsyncIterator[Chromium]:
    """A DevTools connection to the session's Chromium; pages opened through it are closed afterwards."""
    browser = Chromium(process=chromium_process)  # relaunches the process if it died
    await browser.start()
    try:
        yield browser
    finally:
        await browser.close()


@pytest.fixture(scope="session")
def web_pages() -> Iterator[WebPages]:
    """The static server for tests/clients/web (pages + node_modules) on 127.0.0.1:<free port>."""
    ensure_js_deps()
    server = StaticServerThread()
    pages = server.start()
    try:
        yield pages
    finally:
        server.stop()
