"""Sampling profiles of a gateway under miss-path and hit-path load (py-spy), summarised as hot spots.

py-spy is not a dependency of arcbridge: scripts/bench.sh installs it into the venv.
Stacks are recorded per thread (``--threads``), so the summary separates the event loop (``MainThread``) from the
executor threads (``arcbridge_N``) where image work belongs.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

import aiohttp

from benchmarks.measure import ELEVATION, HIT_BOX, WARP_SIZE, Env, _ok, export_path, get_once
from benchmarks.procs import wrk
from tests.backends import dataspec as ds

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
_THREAD_RE = re.compile(r'thread \((0x[0-9A-Fa-f]+)\)(?::\s*"?([^";]*)"?)?')


def available() -> bool:
    return Path(PY_SPY).is_file()


def _record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([PY_SPY, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250",
                             "--format", "raw", "--threads", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


async def _miss_load(base: str, paths: list[str], seconds: float, concurrency: int = 4) -> int:
    deadline = time.monotonic() + seconds
    done = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        async def worker(k: int) -> None:
            nonlocal done
            i = k
            while time.monotonic() < deadline and i < len(paths):
                async with session.get(base + paths[i]) as resp:
                    await resp.read()
                done += 1
                i += concurrency

        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return done


IDLE_LEAVES = ("EpollSelector.select (selectors.py)", "_worker (concurrent/futures/thread.py)",
               "Condition.wait (threading.py)", "Event.wait (threading.py)", "Thread.join (threading.py)",
               "Thread._wait_for_tstate_lock (threading.py)")
"""Leaf frames of a thread that waits (py-spy's own idle detection misses some): left out of the shares."""


def summarise(raw: Path, top: int = 15) -> str:
    """Share of busy samples per thread kind, then the top functions by self and by inclusive samples."""
    self_counts: dict[str, Counter[str]] = defaultdict(Counter)
    incl_counts: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        kind = "other"
        for frame in frames[:3]:
            if frame.startswith("thread"):
                name = frame.split(":", 1)[-1].strip().strip('"') if ":" in frame else frame
                kind = ("event loop" if "MainThread" in name else
                        "executor" if "arcbridge" in name else name)  # fmt: skip
        code = [_short(f) for f in frames if not f.startswith(("process ", "thread "))]
        if not code or code[-1] in IDLE_LEAVES:
            idle += count
            continue
        totals[kind] += count
        self_counts[kind][code[-1]] += count
        for frame in set(code):
            incl_counts[kind][frame] += count
    busy = sum(totals.values()) or 1
    lines = [f"busy samples: {busy} (idle left out: {idle}) — "
             + ", ".join(f"{k} {v / busy:.0%}" for k, v in totals.most_common())]
    for kind, _total in totals.most_common(2):
        lines.append(f"\n[{kind}] self, % of busy samples:")
        for frame, count in self_counts[kind].most_common(top):
            lines.append(f"  {count / busy:6.1%}  {frame}")
        lines.append(f"[{kind}] inclusive (arcbridge and aiohttp frames), % of busy samples:")
        ours = [(f, c) for f, c in incl_counts[kind].most_common()
                if any(k in f for k in ("proxy/", "translators/", "aiohttp/web_", "aiohttp/client"))
                and not f.startswith(("<module>", "main (proxy/cli.py)", "run_app "))]
        for frame, count in ours[:top]:
            lines.append(f"  {count / busy:6.1%}  {frame}")
    return "\n".join(lines)


def _short(frame: str) -> str:
    """``func (path/to/site-packages/pkg/mod.py:12)`` → ``func (pkg/mod.py)``."""
    match = re.match(r"(.*) \((.*?):?(\d+)?\)$", frame)
    if not match:
        return frame
    func, path = match.group(1), match.group(2)
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/", "/tmp/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{func} ({path})"


def run(env: Env, out_dir: Path) -> str:
    """Profile the direct gateway under a miss load, then under a hit load; return the summaries."""
    if not available():
        return "profile not run: py-spy missing (pip install py-spy)"
    out_dir.mkdir(parents=True, exist_ok=True)
    gateway = env.gateway("direct")
    assert gateway.proc is not None
    seconds = env.sizes.profile_seconds
    reports = []
    # Miss path: distinct extents, half 256² PNG (decoded and re-encoded) and half 1024² JPEG (passed through).
    paths = []
    for i in range(int(seconds * 400)):
        paths.append(export_path(env.random_bbox(), 256, "png") if i % 2 else
                     export_path(env.random_bbox(), 1024, "jpg"))  # fmt: skip
    raw = out_dir / "miss.txt"
    spy = _record(gateway.proc.pid, seconds, raw)
    time.sleep(0.5)
    done = asyncio.run(_miss_load(gateway.url, paths, seconds))
    _, err = spy.communicate(timeout=seconds + 60)
    reports.append(f"## miss path ({done} distinct exports, 4 concurrent, 256² PNG + 1024² JPEG)\n"
                   + (summarise(raw) if raw.is_file() else err.decode(errors="replace")[-500:]))
    # Local warp: exportImage of the dem into EPSG:3395, 2048² Float32 GeoTIFF, distinct extents, sequential.
    raw = out_dir / "warp.txt"
    spy = _record(gateway.proc.pid, seconds, raw)
    time.sleep(0.5)
    x0, y0, x1, y1 = ds.DEM_EXTENT
    warp_paths = []
    for i in range(int(seconds * 20)):
        eps = (1000 + i) * 1e-9
        warp_paths.append(f"/arcgis/rest/services/{ELEVATION}/ImageServer/exportImage?" + urllib.parse.urlencode(
            {"bbox": f"{x0 - eps},{y0 - eps},{x1 + eps},{y1 + eps}", "bboxSR": "4326", "imageSR": "3395",
             "size": f"{WARP_SIZE},{WARP_SIZE}", "format": "tiff", "pixelType": "F32",
             "interpolation": "RSP_NearestNeighbor", "f": "image"}))
    done = asyncio.run(_miss_load(gateway.url, warp_paths, seconds - 1, concurrency=1))
    _, err = spy.communicate(timeout=seconds + 60)
    reports.append(f"## local warp path ({done} exportImage dem → EPSG:3395 {WARP_SIZE}² F32, sequential)\n"
                   + (summarise(raw) if raw.is_file() else err.decode(errors="replace")[-500:]))
    if env.cache_ok:
        url = gateway.url + export_path(HIT_BOX, 256, "png")
        _ok(*get_once(url), what="hit warm-up")
        raw = out_dir / "hit.txt"
        spy = _record(gateway.proc.pid, seconds, raw)
        time.sleep(0.5)
        result: dict[str, float] = {}
        thread = threading.Thread(target=lambda: result.update(wrk(url, seconds - 1)))
        thread.start()
        thread.join()
        _, err = spy.communicate(timeout=seconds + 60)
        reports.append(f"## hit path (wrk -t2 -c16, {result.get('rps', 0):.0f} req/s under the profiler)\n"
                       + (summarise(raw) if raw.is_file() else err.decode(errors="replace")[-500:]))
    else:
        reports.append("## hit path\nnot run: no cache in this build")
    return "\n\n".join(reports)
