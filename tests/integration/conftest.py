"""The gateway under test, configured against the real backends and a misbehaving fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends.servers import FastCgiBackend
from tests.fakes import FakeWms
from tests.gateway import Gateway


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
        "Plain": svc(mapserver.url, "generic", layers=["rgb"]),
    }
    for mode in ("hang", "exception", "garbage", "html", "error500", "badcaps"):
        services[f"bad/{mode}"] = svc(fake.url(mode), "mapserver", backend={"timeout": 1.5})
    services["bad/down"] = svc("http://127.0.0.1:9/ows", "mapserver", backend={"timeout": 2})
    return {"server": {"outputTTL": 120}, "services": services}


@pytest.fixture(scope="session")
def gateway(mapserver: FastCgiBackend, qgis: FastCgiBackend, fake_wms: FakeWms,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("gateway")
    with Gateway(gateway_config(mapserver, qgis, fake_wms), workdir) as gw:
        yield gw
