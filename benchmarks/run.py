"""arcbridge benchmarks, side by side against the real MapServer backend in one run (``bash scripts/bench.sh``).

    python -m benchmarks.run [--quick] [--only 1,3] [--profile] [--keep]

Generates the test data into a temporary directory, starts MapServer 8 (nginx + 2 FastCGI workers) and the gateways
(``python -m proxy serve`` with a ``cache:`` section; without it when the build refuses the section, the cache rows
then say "not run"), runs the measurements below alternating the two compared sides within the run, prints a
markdown table and writes it to ``benchmarks/results-latest.md`` (``results-quick.md`` for a ``--quick`` run; the
committed ``results.md`` only with ``--write``). Timing is
never asserted by the test suite: these are figures, reported as ratios to a reference measured on the same machine
in the same run.

1. miss overhead: median latency of ``export f=image`` through arcbridge ÷ the GetMap arcbridge sends for it, sent
   directly to MapServer (captured through a recording proxy, so it is exactly the same image work); 256² PNG and
   1024² JPEG, distinct extents, sequential keep-alive requests.
2. hit throughput: requests/s of a cached ``export`` ÷ a bare aiohttp handler returning the same bytes (wrk).
3. coalescing: 50 concurrent identical cold requests → backend GetMaps counted by the recording proxy.
4. local warp: ``exportImage`` of the dem into EPSG:3395 (not offered by MapServer) 2048², ms per megapixel ÷
   GDAL's warper (gdal.Warp in-process, Debian's python3-gdal) on the same GeoTIFF, same extent and size.
5. scale-out: cache-hit requests/s with ``--workers 2`` ÷ ``--workers 1`` (wrk with one thread pipelining 16
   requests, so that the load generator takes little of the 2 cores; plain wrk figures reported beside).
6. memory: VmRSS of the gateway after 10,000 distinct requests with ``cache: {memory: 128MB}`` vs 128 + 150 MiB.
9. tile hits: requests/s of a tile of a tiled MapServer from the memory tier ÷ a bare aiohttp handler returning the
   same bytes (wrk, as 2).
10-13. tiles (benchmarks/tiles.py): tile hits with 2 workers ÷ bare aiohttp with 2 processes (10) and ÷ MapProxy 7's
   file cache under gunicorn with 2 workers (11, measured with 10); hits from the disk tier, memory tier off (12); 100
   concurrent requests for the 16 tiles of one cold metatile → backend GetMaps (13); seeding ÷ mapproxy-seed (14).

``--profile`` (or ``--only profile``) also records py-spy profiles of the gateway under the miss-path and the hit-path
load and writes their summary to ``benchmarks/profile.md`` (raw stacks in the work dir: keep it with ``--keep``).
Every load is sent to 127.0.0.1 only and is bounded in count and time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks import measure, tiles
from benchmarks.measure import Env, Row, Sizes
from benchmarks.procs import serve_help
from tests.backends.generate import generate
from tests.backends.servers import MapServerBackend

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NAMES = {1: "miss overhead", 2: "hit throughput", 3: "coalescing", 4: "local warp", 5: "scale-out", 6: "memory",
         7: "soak", 8: "fuzz", 9: "tile hits", 10: "tile hits, 2 workers (+ 11: vs MapProxy)",
         12: "disk-tier tile hits", 13: "cold metatile", 14: "seeding"}


def _selection(text: str | None, profile: bool) -> tuple[list[int], bool]:
    if not text:
        return sorted(NAMES), profile
    numbers = []
    for part in text.split(","):
        part = part.strip().lower()
        if part == "profile":
            profile = True
        elif part.isdigit() and int(part) in NAMES:
            numbers.append(int(part))
        else:
            raise SystemExit(f"--only: expected numbers among 1-14 or 'profile', got {part!r}")
    return sorted(set(numbers)), profile


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    return f"{cores} cores{f' ({model})' if model else ''}, {platform.system()} {platform.release()}"


def _revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "proxy", "translators"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        return rev + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render(rows: list[Row], header: str) -> str:
    lines = [header, "",
             "| # | measurement | arcbridge | reference | ratio | target | result | notes |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "—"
        cells = [str(row.number), row.name, row.arcbridge or "—", row.reference or "—", ratio, row.target,
                 f"**{row.verdict}**" if row.verdict in ("PASS", "FAIL") else row.verdict, row.notes]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.run", description="arcbridge benchmarks (see module docs)")
    parser.add_argument("--quick", action="store_true", help="few requests and short runs: a smoke run")
    parser.add_argument("--only", help="comma-separated measurement numbers (1-14) and/or 'profile'")
    parser.add_argument("--profile", action="store_true", help="also profile the gateway with py-spy")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    parser.add_argument("--output", help="where to write the table (default benchmarks/results-latest.md, "
                                         "benchmarks/results-quick.md with --quick)")
    parser.add_argument("--write", action="store_true", help="replace the committed benchmarks/results.md")
    args = parser.parse_args(argv)
    numbers, profile = _selection(args.only, args.profile)
    # The committed results.md is replaced only when asked: a local run must not rewrite the published figures.
    default = "results-quick.md" if args.quick else ("results.md" if args.write else "results-latest.md")
    output = Path(args.output or HERE / default)
    sizes = Sizes.quick() if args.quick else Sizes()
    if ({2, 5, 9, 10, 12} & set(numbers) or profile) and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run scripts/bench.sh (apt-get install wrk)")
    workers_available = "--workers" in serve_help()
    workdir = Path(tempfile.mkdtemp(prefix="arcbridge-bench-"))
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    rows: list[Row] = []
    profile_text = ""
    print(f"benchmarks: {', '.join(NAMES[n] for n in numbers) or '-'}{' + profile' if profile else ''}"
          f"{' (quick)' if args.quick else ''}; work dir {workdir}", flush=True)
    try:
        data_dir = generate(workdir / "data", qgis=False)
        with MapServerBackend(data_dir, workers=2) as backend:
            env = Env(backend.url, data_dir, workdir, sizes)
            try:
                steps: dict[int, Callable[[], list[Row]]] = {
                    1: lambda: measure.miss_overhead(env),
                    2: lambda: measure.hit_throughput(env),
                    3: lambda: measure.coalescing(env),
                    4: lambda: measure.local_warp(env),
                    5: lambda: measure.scale_out(env, workers_available),
                    6: lambda: measure.memory(env),
                    7: lambda: measure.soak(env),
                    8: lambda: measure.fuzz(env),
                    9: lambda: measure.tile_hits(env),
                    10: lambda: tiles.two_workers(env),
                    12: lambda: tiles.disk_tier(env),
                    13: lambda: tiles.cold_metatile(env),
                    14: lambda: tiles.seeding(env),
                }
                for number in numbers:
                    t0 = time.monotonic()
                    print(f"[{number}] {NAMES[number]} …", flush=True)
                    try:
                        new_rows = steps[number]()
                    except Exception as exc:  # one broken measurement must not hide the others
                        traceback.print_exc()
                        new_rows = [Row(number, NAMES[number], verdict="ERROR", notes=f"{type(exc).__name__}: "
                                        f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")]
                    for row in new_rows:
                        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
                        print(f"    {row.name}: {row.arcbridge or '-'} vs {row.reference or '-'} ratio {ratio} "
                              f"{row.target} {row.verdict}  ({time.monotonic() - t0:.0f} s)", flush=True)
                    rows.extend(new_rows)
                if profile:
                    from benchmarks import profile as profiler

                    print("[profile] py-spy …", flush=True)
                    profile_text = profiler.run(env, workdir / "profiles")
            finally:
                env.close()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()[0]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"arcbridge benchmarks — {when}; {_machine()}; arcbridge {_revision()}; MapServer 8 behind nginx with "
              f"2 FastCGI workers on the same machine; {'quick run' if args.quick else 'full run'} "
              f"({time.monotonic() - started:.0f} s, load average {load_before:.1f} before, {load_after:.1f} after); "
              f"command: `bash scripts/bench.sh"
              f"{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`")
    if rows:
        table = render(rows, header)
        print("\n" + table)
        output.write_text("# Benchmark results\n\n" + table)
        print(f"written to {output}")
    if profile_text:
        print("\n" + profile_text)
        profile_path = HERE / ("profile.md" if args.write and not args.quick else "profile-quick.md")
        profile_path.write_text(f"# Profile\n\n{header}\n\n```\n{profile_text}\n```\n")
        print(f"profile summary written to {profile_path}")
    return 1 if any(r.verdict == "ERROR" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
