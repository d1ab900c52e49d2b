"""Serve the test data with a real backend until SIGINT/SIGTERM (used by the demo script).

    python -m tests.backends.serve --backend mapserver --data-dir DIR [--port PORT] [--workers N]

Generates the data in DIR if missing or stale, starts nginx + FastCGI workers, prints the OWS URL alone on one line
of stdout (e.g. ``http://127.0.0.1:8081/ows``) and keeps running; stops the processes it started on exit.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from tests.backends.generate import generate
from tests.backends.servers import BACKENDS


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tests.backends.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="mapserver")
    parser.add_argument("--data-dir", type=Path, required=True, help="where the test data is (or will be) written")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=2, help="FastCGI workers (default 2)")
    args = parser.parse_args(argv)

    cls = BACKENDS[args.backend]
    if reason := cls.unavailable():
        print(reason, file=sys.stderr)
        return 2
    data_dir = generate(args.data_dir, qgis=True if args.backend == "qgis" else None)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with cls(data_dir, port=args.port, workers=args.workers, host=args.host) as backend:
        print(backend.url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
