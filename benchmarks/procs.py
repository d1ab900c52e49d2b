"""Processes of the benchmarks: the gateway (with extra command-line options), helper servers, wrk, RSS."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.gateway import ROOT, Gateway, fetch, free_port


class StartError(RuntimeError):
    """A process did not start; the message carries its log."""


class BenchGateway(Gateway):
    """``python -m proxy serve`` with extra options (``--workers N``); ``.pids()`` lists its processes."""

    def __init__(self, config: dict[str, Any], workdir: Path, extra_args: tuple[str, ...] = ()) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(config, workdir)
        self.extra_args = extra_args

    def start(self) -> BenchGateway:
        import yaml

        config_path = self.workdir / "gateway.yaml"
        config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "proxy", "serve", "--config", str(config_path), "--port", str(self.port),
                 "--log-level", "WARNING", *self.extra_args],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"gateway exited with {self.proc.returncode}: {self.log()[-3000:]}")
            try:
                if fetch(f"{self.url}/arcgis/rest/info", {"f": "json"}, timeout=2).status == 200:
                    self._wait_workers(deadline)
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise StartError(f"gateway did not start: {self.log()[-3000:]}")

    def _wait_workers(self, deadline: float) -> None:
        """With ``--workers N``, wait until N distinct processes answer (each fetch is a new connection)."""
        wanted = int(self.extra_args[self.extra_args.index("--workers") + 1]) if "--workers" in self.extra_args else 1
        seen: set[int] = set()
        while wanted > 1 and len(seen) < wanted and time.monotonic() < deadline:
            stats = self.stats()
            if stats is None:
                return  # no /arcbridge/stats in this build: nothing to tell the workers apart
            seen.add(int(stats.get("pid", 0)))
            time.sleep(0.02)

    def pids(self) -> list[int]:
        """The gateway's process and all its descendants (the workers of ``--workers N``)."""
        assert self.proc is not None
        return [self.proc.pid, *descendants(self.proc.pid)]

    def stats(self) -> dict[str, Any] | None:
        """``GET /arcbridge/stats`` when this build has it, else None."""
        try:
            reply = fetch(f"{self.url}/arcbridge/stats", timeout=5)
        except OSError:
            return None
        if reply.status != 200 or "json" not in reply.content_type:
            return None
        data: dict[str, Any] = reply.json()
        return data


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def proc_status_kb(pid: int, field: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (``VmRSS``, ``VmHWM``)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc/PID/stat)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICKS


def serve_help() -> str:
    """The text of ``python -m proxy serve --help`` (to detect options such as ``--workers``)."""
    proc = subprocess.run([sys.executable, "-m", "proxy", "serve", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    return proc.stdout + proc.stderr


class Helper:
    """A helper server (``python -m benchmarks.<module> … --port P``) on a free port of 127.0.0.1."""

    def __init__(self, module: str, args: list[str], workdir: Path, ready_path: str = "/") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{module.rsplit('.', 1)[-1]}-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, *args, "--port", str(self.port)], cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"{module} exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=2) as resp:
                    resp.read()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise StartError(f"{module} did not start: {self.log_path.read_text()[-2000:]}")

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


WRK = shutil.which("wrk")


PIPELINE = Path(__file__).resolve().parent / "pipeline.lua"


def wrk(url: str, seconds: float, threads: int = 2, connections: int = 16,
        pids: list[int] | None = None, pipeline: int = 0) -> dict[str, float]:
    """One wrk run against a 127.0.0.1 URL: requests/s, the count of errors and non-2xx answers, and (given the
    server's ``pids``) the CPU the server used: ``cores`` busy on average and ``cpu_us`` per request.  ``pipeline``
    > 0 sends that many requests per write (benchmarks/pipeline.lua)."""
    if WRK is None:
        raise RuntimeError("wrk is not installed (scripts/bench.sh installs it)")
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks only load 127.0.0.1")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before, started = cpu_seconds(pids or []), time.monotonic()
    script = ["-s", str(PIPELINE)] if pipeline else []
    tail = ["--", str(pipeline)] if pipeline else []
    proc = subprocess.run([WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", *script, url,
                           *tail], capture_output=True, text=True, timeout=seconds + 60, check=True)  # fmt: skip
    cpu, wall = cpu_seconds(pids or []) - cpu_before, time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    out = proc.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}\n{proc.stderr}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    p50_ms = float("nan")
    if p50:
        p50_ms = float(p50.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    requests = re.search(r"(\d+) requests in", out)
    count = float(requests.group(1)) if requests else float(rps.group(1)) * seconds
    return {
        "cores": cpu / wall if pids else float("nan"),
        "cpu_us": cpu / count * 1e6 if pids and count else float("nan"),
        "wrk_cores": wrk_cpu / wall,
        "rps": float(rps.group(1)),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
        "p50_ms": p50_ms,
    }
