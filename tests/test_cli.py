"""The ``arcbridge`` command: serving, clean shutdown, configuration errors."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway import ROOT, Gateway, fetch


def test_serve_and_shut_down_cleanly_on_sigterm_and_sigint(tmp_path: Path) -> None:
    config = {"services": {"x/Map": {"type": "MapServer", "backend": {"url": "http://127.0.0.1:9/ows"}}}}
    for sig in (signal.SIGTERM, signal.SIGINT):
        gateway = Gateway(config, tmp_path).start()
        listing = fetch(gateway.url + "/arcgis/rest/services/x", {"f": "json"}).json()
        assert listing["services"] == [{"name": "x/Map", "type": "MapServer"}]
        assert gateway.proc is not None
        gateway.proc.send_signal(sig)
        assert gateway.proc.wait(15) == 0, gateway.log()
        assert "Traceback" not in gateway.log()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services:\n  a:\n    type: MapServer\n    backend: {url: 'http://x/', flavor: oracle}\n",
         "services.a.backend.flavor: must be one of"),
        ("services: {}\n", "services: at least one service is required"),
        ("services: [\n", "not valid YAML"),
    ],
)
def test_bad_config_stops_start_up_with_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "proxy", "serve", "--config", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_console_script_is_installed() -> None:
    script = shutil.which("arcbridge", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run([script, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--config" in done.stdout
