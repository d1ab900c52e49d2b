"""Run MapServer 8 and QGIS Server 3.22 the production way: nginx in front of a spawn-fcgi pool of FastCGI workers.

    with MapServerBackend(data_dir) as ms:      # data_dir written by tests.backends.generate.generate()
        urllib.request.urlopen(ms.url + "?SERVICE=WMS&REQUEST=GetCapabilities")

Everything (nginx config, pid, logs, temp dirs, the FastCGI socket) lives in a private run directory; nginx listens on
a free port of 127.0.0.1 and serves the test map or project at ``/ows`` without a ``map=`` parameter.

How the processes are handled (see shared/reference/BACKENDS.md for why):

- spawn-fcgi runs in fork mode (``-F N -P pidfile``): the launcher exits, the workers ``setsid()``. This process
  becomes a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``) so that the orphaned workers are re-parented to it
  and can be reaped; they are stopped by pid with SIGKILL (an idle mapserv ignores SIGTERM).
- nginx runs unprivileged-style (``-p -c -e -g 'daemon off;'``) in its own session; as root its workers would run as
  ``nobody`` and could not open the socket, so the config names the current user when running as root.
- nginx gets its own fastcgi params file (a duplicate ``fastcgi_param`` is seen by the app in its first form).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.backends import dataspec as ds

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SPAWN_FCGI = shutil.which("spawn-fcgi") or "/usr/bin/spawn-fcgi"
MAPSERV_FCGI = "/usr/lib/cgi-bin/mapserv"
QGIS_FCGI = "/usr/lib/cgi-bin/qgis_mapserv.fcgi"
PR_SET_CHILD_SUBREAPER = 36

FASTCGI_PARAMS = """\
fastcgi_param QUERY_STRING $query_string;
fastcgi_param REQUEST_METHOD $request_method;
fastcgi_param CONTENT_TYPE $content_type;
fastcgi_param CONTENT_LENGTH $content_length;
fastcgi_param SCRIPT_NAME $fastcgi_script_name;
fastcgi_param REQUEST_URI $request_uri;
fastcgi_param DOCUMENT_URI $document_uri;
fastcgi_param DOCUMENT_ROOT $document_root;
fastcgi_param SERVER_PROTOCOL $server_protocol;
fastcgi_param REQUEST_SCHEME $scheme;
fastcgi_param GATEWAY_INTERFACE CGI/1.1;
fastcgi_param SERVER_SOFTWARE nginx/$nginx_version;
fastcgi_param REMOTE_ADDR $remote_addr;
fastcgi_param REMOTE_PORT $remote_port;
fastcgi_param SERVER_ADDR $server_addr;
fastcgi_param SERVER_PORT $server_port;
fastcgi_param SERVER_NAME $host;
"""

NGINX_CONF = """\
{user_line}
worker_processes 1;
pid "{run}/nginx.pid";
error_log "{run}/nginx-error.log" warn;
events {{
  worker_connections 512;
}}
http {{
  access_log off;
  client_body_temp_path "{run}/tmp/body";
  fastcgi_temp_path "{run}/tmp/fastcgi";
  proxy_temp_path "{run}/tmp/proxy";
  uwsgi_temp_path "{run}/tmp/uwsgi";
  scgi_temp_path "{run}/tmp/scgi";
  client_max_body_size 10m;
  server {{
    listen {host}:{port};
    server_name localhost;
    location /ows {{
      include "{run}/fastcgi_params";
{extra_params}
      fastcgi_pass "unix:{run}/fcgi.sock";
      fastcgi_buffers 64 32k;
      fastcgi_read_timeout 120s;
    }}
  }}
}}
"""

def nginx_user_line() -> str:
    """The ``user`` directive that keeps nginx's workers as this user: run as root, nginx would make them nobody, who
    cannot reach the private run directory and its sockets."""
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};"


_subreaper_set = False


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux); return whether it worked."""
    global _subreaper_set
    if not _subreaper_set:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper_set = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _subreaper_set = False
    return _subreaper_set


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _kill_and_reap(pid: int, timeout: float = 5.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (no subreaper): wait until it is gone
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            done = 0
        if done:
            return
        time.sleep(0.01)


class BackendError(RuntimeError):
    """A backend did not start; the message carries the tail of its logs."""


class FastCgiBackend:
    """nginx + a spawn-fcgi pool of one FastCGI binary, serving ``/ows``.

    Attributes: ``kind`` ("mapserver" or "qgis"), ``data_dir``, ``host``, ``port``, ``url``
    (``http://127.0.0.1:PORT/ows``), ``run_dir``, ``workers``, ``worker_pids``.
    """

    kind = "generic"
    binary = ""
    getmap_formats: tuple[str, ...] = ()
    """GetMap formats this backend renders (all advertised in its capabilities)."""
    raster_time = False
    """Whether raster layers honour TIME (MapServer: ``temperature``; QGIS 3.22: no, one layer per date)."""
    wcs_versions: tuple[str, ...] = ()

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int = 0,
        workers: int = 2,
        host: str = "127.0.0.1",
        run_dir: Path | str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port
        self.workers = workers
        self._own_run_dir = run_dir is None
        self.run_dir = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix=f"arcbridge-{self.kind}-"))
        self.worker_pids: list[int] = []
        self._nginx: subprocess.Popen[bytes] | None = None
        self._started = False

    # ------------------------------------------------------------------------------------------ per backend
    @classmethod
    def unavailable(cls) -> str | None:
        """Why this backend cannot run on this machine (a missing program), or None."""
        missing = [p for p in (NGINX, SPAWN_FCGI, cls.binary) if not os.access(p, os.X_OK)]
        if missing:
            return f"{cls.kind} backend needs {', '.join(missing)} (scripts/install-system-deps.sh)"
        return None

    def check_data(self) -> None:
        """Raise if the data dir lacks what this backend serves."""

    def worker_env(self) -> dict[str, str]:
        """Environment of the FastCGI workers."""
        return dict(os.environ)

    def fastcgi_params(self) -> dict[str, str]:
        """Extra FastCGI parameters nginx passes with every request."""
        return {}

    # ------------------------------------------------------------------------------------------ public
    @property
    def url(self) -> str:
        """The OWS endpoint, e.g. ``http://127.0.0.1:8123/ows``."""
        return f"http://{self.host}:{self.port}/ows"

    def capabilities_url(self, service: str = "WMS", version: str = "1.3.0") -> str:
        """GetCapabilities URL of one service."""
        return f"{self.url}?SERVICE={service}&VERSION={version}&REQUEST=GetCapabilities"

    def start(self, timeout: float = 60.0) -> FastCgiBackend:
        """Start workers and nginx; return once GetCapabilities answers."""
        if self._started:
            return self
        self.check_data()
        become_subreaper()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("tmp/body", "tmp/fastcgi", "tmp/proxy", "tmp/uwsgi", "tmp/scgi"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        self._started = True
        atexit.register(self.stop)
        try:
            self._start_workers()
            self._start_nginx()
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop nginx and the workers (SIGKILL by pid, reaped); remove the run dir if it was ours."""
        if not self._started:
            return
        self._started = False
        if self._nginx is not None:
            if self._nginx.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._nginx.pid, signal.SIGTERM)
                try:
                    self._nginx.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self._nginx.pid, signal.SIGKILL)
                    self._nginx.wait(timeout=5)
            self._nginx = None
        for pid in self.worker_pids:
            _kill_and_reap(pid)
        self.worker_pids = []
        with contextlib.suppress(ValueError):
            atexit.unregister(self.stop)
        if self._own_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def logs(self) -> str:
        """The nginx error log (includes the workers' FastCGI stderr) and the workers' own stderr."""
        parts = []
        for name in ("nginx-error.log", "workers.log"):
            path = self.run_dir / name
            if path.is_file():
                parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-20000:])
        return "\n".join(parts)

    def __enter__(self) -> FastCgiBackend:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url if self.port else '(not started)'} data={self.data_dir}>"

    # ------------------------------------------------------------------------------------------ internals
    def _start_workers(self) -> None:
        sock = self.run_dir / "fcgi.sock"
        pidfile = self.run_dir / "workers.pid"
        sock.unlink(missing_ok=True)
        pidfile.unlink(missing_ok=True)
        with open(self.run_dir / "workers.log", "ab") as log:
            proc = subprocess.run(
                [SPAWN_FCGI, "-s", str(sock), "-M", "0600", "-F", str(self.workers), "-P", str(pidfile),
                 "--", self.binary],
                env=self.worker_env(),
                cwd=self.run_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                timeout=30,
                check=False,
            )  # fmt: skip
        if pidfile.is_file():
            self.worker_pids = [int(p) for p in pidfile.read_text().split()]
        if proc.returncode != 0 or len(self.worker_pids) != self.workers:
            raise BackendError(f"spawn-fcgi failed ({proc.returncode}) for {self.binary}\n{self.logs()}")

    def _nginx_conf(self) -> str:
        user_line = nginx_user_line()
        extra = "\n".join(f'      fastcgi_param {k} "{v}";' for k, v in self.fastcgi_params().items())
        return NGINX_CONF.format(user_line=user_line, run=self.run_dir, host=self.host, port=self.port,
                                 extra_params=extra)  # fmt: skip

    def _start_nginx(self) -> None:
        (self.run_dir / "fastcgi_params").write_text(FASTCGI_PARAMS)
        fixed_port = self.port != 0
        for _attempt in range(5):
            if not fixed_port:
                self.port = free_port(self.host)
            conf = self.run_dir / "nginx.conf"
            conf.write_text(self._nginx_conf())
            self._nginx = subprocess.Popen(
                [NGINX, "-p", str(self.run_dir), "-c", str(conf), "-e", str(self.run_dir / "nginx-error.log"),
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            if self._wait_listening(5.0):
                return
            if self._nginx.poll() is None:
                os.killpg(self._nginx.pid, signal.SIGKILL)
                self._nginx.wait()
            if fixed_port:
                break
        raise BackendError(f"nginx did not start on {self.host}:{self.port}\n{self.logs()}")

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        assert self._nginx is not None
        while time.monotonic() < deadline:
            if self._nginx.poll() is not None:
                return False
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((self.host, self.port)) == 0:
                    return True
            time.sleep(0.01)
        return False

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.capabilities_url(), timeout=10) as resp:
                    body = resp.read()
                if b"WMS_Capabilities" in body or b"WMT_MS_Capabilities" in body:
                    return
                last = body[:500].decode(errors="replace")
            except (urllib.error.URLError, OSError) as exc:
                last = repr(exc)
            time.sleep(0.05)
        raise BackendError(f"{self.kind} did not answer GetCapabilities in {timeout}s: {last}\n{self.logs()}")


class MapServerBackend(FastCgiBackend):
    """MapServer 8 (``mapserv`` in FastCGI mode) serving ``arcbridge.map``; ``?map=arcbridge`` works too."""

    kind = "mapserver"
    binary = MAPSERV_FCGI
    getmap_formats = ("image/png", "image/png; mode=8bit", "image/jpeg", "image/svg+xml", "application/pdf")
    raster_time = True
    wcs_versions = ("1.0.0", "2.0.1")

    @property
    def mapfile(self) -> Path:
        """The mapfile served."""
        return self.data_dir / ds.FILES["mapfile"]

    def check_data(self) -> None:
        """Raise if the mapfile or config is missing."""
        for key in ("mapfile", "mapserver_config"):
            if not (self.data_dir / ds.FILES[key]).is_file():
                raise BackendError(f"missing {ds.FILES[key]} in {self.data_dir}: run tests.backends.generate first")

    def worker_env(self) -> dict[str, str]:
        """Read the config file (mandatory in MapServer 8) once at start."""
        env = dict(os.environ)
        env["MAPSERVER_CONFIG_FILE"] = str(self.data_dir / ds.FILES["mapserver_config"])
        env.pop("MS_MAPFILE", None)
        return env

    def fastcgi_params(self) -> dict[str, str]:
        """Select the test map for requests without ``map=``."""
        return {"MS_MAPFILE": str(self.mapfile)}


class QgisBackend(FastCgiBackend):
    """QGIS Server 3.22 (``qgis_mapserv.fcgi``) serving ``arcbridge.qgs``."""

    kind = "qgis"
    binary = QGIS_FCGI
    getmap_formats = (
        "image/png",
        "image/png; mode=8bit",
        "image/png; mode=16bit",
        "image/png; mode=1bit",
        "image/jpeg",
    )
    wcs_versions = ("1.0.0",)

    @classmethod
    def unavailable(cls) -> str | None:
        """Also needs PyQGIS (python3-qgis) to write the project."""
        from tests.backends.generate import qgis_available

        return super().unavailable() or (None if qgis_available() else "qgis backend needs python3-qgis")

    @property
    def project(self) -> Path:
        """The QGIS project served."""
        return self.data_dir / ds.FILES["qgis_project"]

    def check_data(self) -> None:
        """Raise if the project is missing."""
        if not self.project.is_file():
            raise BackendError(f"missing {self.project.name} in {self.data_dir}: run tests.backends.generate first")

    def worker_env(self) -> dict[str, str]:
        """Headless Qt, private writable HOME/XDG/options/auth dirs, logs to stderr."""
        env = dict(os.environ)
        home = self.run_dir / "home"
        xdg = self.run_dir / "xdg"
        for d in (home, xdg, home / "options", home / "auth"):
            d.mkdir(parents=True, exist_ok=True)
        xdg.chmod(0o700)
        env.update(
            {
                "QT_QPA_PLATFORM": "offscreen",
                "HOME": str(home),
                "XDG_RUNTIME_DIR": str(xdg),
                "QGIS_OPTIONS_PATH": str(home / "options"),
                "QGIS_AUTH_DB_DIR_PATH": str(home / "auth"),
                "QGIS_PROJECT_FILE": str(self.project),
                "QGIS_SERVER_LOG_STDERR": "1",
                "QGIS_SERVER_LOG_LEVEL": "2",
                "QGIS_SERVER_IGNORE_BAD_LAYERS": "false",
            }
        )
        return env

    def fastcgi_params(self) -> dict[str, str]:
        """Select the test project for every request."""
        return {"QGIS_PROJECT_FILE": str(self.project)}


BACKENDS: dict[str, type[FastCgiBackend]] = {"mapserver": MapServerBackend, "qgis": QgisBackend}
