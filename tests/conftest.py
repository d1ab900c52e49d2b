"""Session fixtures: generated test data and the real OGC backends (logic in tests/backends/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends.generate import generate
from tests.backends.servers import FastCgiBackend, MapServerBackend, QgisBackend


@pytest.fixture(scope="session")
def backend_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory with the data of tests/backends/dataspec.py, the mapfile and the QGIS project."""
    return generate(tmp_path_factory.mktemp("backend-data"))


def _serve(cls: type[FastCgiBackend], data_dir: Path) -> Iterator[FastCgiBackend]:
    if reason := cls.unavailable():
        pytest.skip(reason)
    with cls(data_dir) as backend:
        yield backend


@pytest.fixture(scope="session")
def mapserver(backend_data: Path) -> Iterator[FastCgiBackend]:
    """MapServer 8 behind nginx; ``.url`` is ``http://127.0.0.1:PORT/ows``."""
    yield from _serve(MapServerBackend, backend_data)


@pytest.fixture(scope="session")
def qgis(backend_data: Path) -> Iterator[FastCgiBackend]:
    """QGIS Server 3.22 behind nginx; ``.url`` is ``http://127.0.0.1:PORT/ows``."""
    yield from _serve(QgisBackend, backend_data)


@pytest.fixture(params=["mapserver", "qgis"])
def ogc_backend(request: pytest.FixtureRequest) -> FastCgiBackend:
    """Each real backend in turn (``.kind`` is "mapserver" or "qgis")."""
    backend: FastCgiBackend = request.getfixturevalue(request.param)
    return backend
