"""Run a command as a Linux "child subreaper" and reap every descendant it orphans, then exit with its status.

Chromium's helper processes (zygotes, renderers, utility processes) outlive its main process by a few ms at
shutdown and get re-parented; where PID 1 does not reap (as in the test containers) they would stay zombies.
Usage: ``python _reaper.py /usr/bin/chromium --flags...``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    """Spawn ``argv`` and reap until no descendant is left; return the command's exit code."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: plain parent, still waits for the command
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # Signals are for the command: its process group gets them anyway; keep reaping until everything is gone.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: None)
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    code = 0
    while True:
        try:
            done, status = os.wait()
        except ChildProcessError:
            return code
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            code = code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
