"""Session fixtures: generated test data and the real OGC backends (logic in tests/backends/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import dataspec as ds
from tests.backends.generate import generate
from tests.backends.servers import FastCgiBackend, MapServerBackend, QgisBackend
from tests.fakes import FakeWms, RefusingProxy
from tests.gateway import Gateway
from tests.needs import unavailable
from tests.redis_server import RedisServer, redis_binary


@pytest.fixture(scope="session")
def backend_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory with the data of tests/backends/dataspec.py, the mapfile and the QGIS project."""
    return generate(tmp_path_factory.mktemp("backend-data"))


def _serve(cls: type[FastCgiBackend], data_dir: Path) -> Iterator[FastCgiBackend]:
    if reason := cls.unavailable():
        unavailable(reason)
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


@pytest.fixture(scope="session")
def fake_wms() -> Iterator[FakeWms]:
    with FakeWms() as fake:
        yield fake


def gateway_config(mapserver: FastCgiBackend, qgis: FastCgiBackend, fake: FakeWms) -> dict[str, object]:
    def svc(url: str, flavor: str, backend: dict[str, object] | None = None, **extra: object) -> dict[str, object]:
        return {"type": "MapServer", "backend": {"url": url, "flavor": flavor, **(backend or {})}, **extra}

    services: dict[str, object] = {
        "ms/All": svc(mapserver.url, "mapserver"),
        "ms/World": svc(mapserver.url, "mapserver", layers=["cities", "regions", "rgb"]),
        "ms/Time": svc(mapserver.url, "mapserver", layers=["events", "temperature"]),
        "ms/World111": svc(mapserver.url, "mapserver", layers=["cities", "regions", "rgb"],
                           backend={"version": "1.1.1"}),
        "ms/Small": svc(mapserver.url, "mapserver", layers=["rgb"], maxImageWidth=300, maxImageHeight=200),
        "qgis/All": svc(qgis.url, "qgis"),
        "qgis/World": svc(qgis.url, "qgis", layers=["cities", "regions", "rgb"]),
        "qgis/Time": svc(qgis.url, "qgis", layers=["events", "temperature_20200101"]),
        "Plain": svc(mapserver.url, "generic", layers=["rgb"]),
    }
    def image(url: str, flavor: str, **extra: object) -> dict[str, object]:
        return {"type": "ImageServer", "backend": {"url": url, "flavor": flavor}, **extra}

    services.update({
        "img/Elevation": image(mapserver.url, "mapserver", coverage="dem"),
        "img/ElevationPreview": image(mapserver.url, "mapserver", coverage="dem", previewLayer="dem"),
        "img/ElevationQ": image(qgis.url, "qgis", coverage="dem"),
        "img/Bands": image(mapserver.url, "mapserver", coverage="bands4"),
        "img/BandsQ": image(qgis.url, "qgis", coverage="bands4"),
        "img/RGB": image(mapserver.url, "mapserver", coverage="rgbcov"),
        "img/Named": image(mapserver.url, "mapserver", coverage=ds.BANDS_NAMED_COVERAGE),
        "img/Named10": image(mapserver.url, "mapserver", coverage=ds.BANDS_NAMED_COVERAGE, wcsVersion="1.0.0"),
        "img/TimeWCS": image(mapserver.url, "mapserver", coverage="tempcov"),
        "img/TimeSeriesQ": image(qgis.url, "qgis", coverages=dict(ds.TEMP_COVERAGE_LAYERS)),
        "img/Small": image(mapserver.url, "mapserver", coverage="dem", maxImageWidth=200, maxImageHeight=100),
        "img/Missing": image(mapserver.url, "mapserver", coverage="nosuchcoverage"),
    })
    for mode in ("hang", "exception", "garbage", "html", "error500", "badcaps", "xxe"):
        services[f"bad/{mode}"] = svc(fake.url(mode), "mapserver", backend={"timeout": 1.5})
    services["bad/refresh"] = svc(fake.url("refresh"), "mapserver", backend={"capabilitiesTTL": 0.5})
    services["bad/down"] = svc("http://127.0.0.1:9/ows", "mapserver", backend={"timeout": 2})
    return {"server": {"outputTTL": 120}, "services": services}


@pytest.fixture(scope="session")
def gateway(mapserver: FastCgiBackend, qgis: FastCgiBackend, fake_wms: FakeWms,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("gateway")
    with Gateway(gateway_config(mapserver, qgis, fake_wms), workdir) as gw:
        yield gw


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port of 127.0.0.1 (no persistence), shared by the session."""
    binary = redis_binary()
    if binary is None:
        unavailable("redis-server is not installed")
    with RedisServer(binary, tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may hang (SIGSTOP); always resumed and stopped afterwards."""
    binary = redis_binary()
    if binary is None:
        unavailable("redis-server is not installed")
    with RedisServer(binary, tmp_path_factory.mktemp("own-redis")) as server:
        yield server


@pytest.fixture(scope="session")
def refusing(mapserver: FastCgiBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[RefusingProxy, Gateway]]:
    """The real MapServer behind a proxy that refuses every band subset (RANGESUBSET, BANDS) and every WFS request,
    and a gateway of its own over it (its backend request count is that of the tests using it alone)."""
    workdir: Path = tmp_path_factory.mktemp("refusing-gateway")
    with RefusingProxy(mapserver.url, ("RANGESUBSET", "BANDS"), ("WFS",)) as proxy:
        def image(**extra: object) -> dict[str, object]:
            return {"type": "ImageServer", "backend": {"url": proxy.url, "flavor": "mapserver"}, **extra}

        config = {"services": {
            "img/Refusing": image(coverage="bands4"),
            "img/Refusing10": image(coverage="bands4", wcsVersion="1.0.0"),
            "ms/NoWfs": {"type": "MapServer", "backend": {"url": proxy.url, "flavor": "mapserver"},
                         "layers": ["cities", "regions", "rgb"]},
        }}
        with Gateway(config, workdir) as gateway:
            yield proxy, gateway
