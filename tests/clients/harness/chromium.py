"""Headless Chromium driven over the Chrome DevTools Protocol (CDP), with nothing but aiohttp.

Two layers:

* :class:`ChromiumProcess` - synchronous launch/stop of ``/usr/bin/chromium`` (root-safe flags, a fresh temporary
  ``--user-data-dir``, the DevTools port chosen by Chromium and read back from ``DevToolsActivePort``). Being
  synchronous it can live in a session-scoped fixture independent of any event loop.
* :class:`Chromium` - an async CDP connection to such a process (one websocket, flattened target sessions).
  ``async with Chromium() as browser`` launches its own process and closes it on exit;
  ``Chromium(process=...)`` only connects to (and on exit disconnects from) an existing one.

Every page made by :meth:`Chromium.new_page` lives in its own browser context (no shared cache/cookies), has its
cache disabled, is emulated at device scale factor 1 (screenshot pixels == CSS pixels), and records console
messages, JS exceptions, log entries (CORS failures land there) and every network request it made.

Every call has a timeout; nothing waits by sleeping except the bounded polls in :meth:`Page.wait_for` and the
launch (polling for the ``DevToolsActivePort`` file).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import aiohttp

CHROMIUM_EXECUTABLE = os.environ.get("ARCBRIDGE_CHROMIUM", "/usr/bin/chromium")
WINDOW_SIZE = (1280, 1024)
REAPER = Path(__file__).with_name("_reaper.py")  # parent of Chromium that reaps its orphaned helpers

BASE_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # WebGL (the ArcGIS Maps SDK's MapView needs WebGL2) on SwiftShader: Chromium's automatic software fallback is
    # deprecated and logs a warning asking for this flag.
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-features=Translate,MediaRouter,OptimizationHints,HttpsUpgrades,AutofillServerCommunication",
    "--no-proxy-server",
    "--force-color-profile=srgb",
    "--mute-audio",
    "--hide-scrollbars",
    "--password-store=basic",
    "--remote-debugging-port=0",
)


class ChromiumError(RuntimeError):
    """Chromium could not be launched, or a DevTools command failed."""


class CDPError(ChromiumError):
    """A DevTools command answered with an error."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.method = method
        self.code = error.get("code")
        self.error_message = str(error.get("message", ""))
        super().__init__(f"{method}: {self.error_message} ({self.code}) {error.get('data', '')}".rstrip())


class JavaScriptError(ChromiumError):
    """An evaluated expression threw (or its promise rejected)."""


class PageCrashed(ChromiumError):
    """The page's renderer crashed or its target went away."""


class WaitTimeout(TimeoutError):
    """:meth:`Page.wait_for` or :meth:`Page.goto` ran out of time; the message carries the page's diagnostics."""


# --------------------------------------------------------------------------------------------------------------
# process
# --------------------------------------------------------------------------------------------------------------


class ChromiumProcess:
    """One headless Chromium process with a DevTools endpoint on 127.0.0.1 (synchronous API)."""

    def __init__(
        self,
        executable: str | None = None,
        *,
        window_size: tuple[int, int] = WINDOW_SIZE,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.executable = executable or CHROMIUM_EXECUTABLE
        self.window_size = window_size
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.ws_url: str | None = None
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmpdir: Path | None = None
        self._log: Any = None

    @property
    def alive(self) -> bool:
        """Whether the browser process is running."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """PID of the launcher (the reaper wrapping Chromium) = process-group id of all browser processes."""
        return self._proc.pid if self._proc is not None else None

    def args(self, user_data_dir: Path) -> list[str]:
        """The full command line."""
        w, h = self.window_size
        return [
            self.executable,
            *BASE_FLAGS,
            f"--window-size={w},{h}",
            f"--user-data-dir={user_data_dir}",
            *self.extra_args,
            "about:blank",
        ]

    def start(self) -> str:
        """Launch Chromium and wait for its DevTools endpoint; return the browser websocket URL."""
        if self.alive and self.ws_url:
            return self.ws_url
        self.stop()
        if not (os.path.isfile(self.executable) and os.access(self.executable, os.X_OK)):
            raise ChromiumError(f"no Chromium at {self.executable} (apt-get install chromium)")
        self._tmpdir = Path(tempfile.mkdtemp(prefix="arcbridge-chromium-"))
        profile = self._tmpdir / "profile"
        profile.mkdir()
        self._log = open(self._tmpdir / "chromium.log", "wb")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ)
        for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env.pop(var, None)
        self._proc = subprocess.Popen(
            [sys.executable, str(REAPER), *self.args(profile)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() kills renderers/zygotes/crashpad with it
            env=env,
            cwd=self._tmpdir,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.startup_timeout
        try:
            while True:
                if self._proc.poll() is not None:
                    raise ChromiumError(f"Chromium exited with {self._proc.returncode} on start:\n{self.log_tail()}")
                with contextlib.suppress(OSError):
                    lines = port_file.read_text().split("\n")
                    if len(lines) >= 2 and lines[0].strip().isdigit() and lines[1].strip().startswith("/devtools/"):
                        self.port = int(lines[0].strip())
                        self.ws_url = f"ws://127.0.0.1:{self.port}{lines[1].strip()}"
                        return self.ws_url
                if time.monotonic() > deadline:
                    raise ChromiumError(
                        f"Chromium gave no DevTools port within {self.startup_timeout}s:\n{self.log_tail()}"
                    )
                time.sleep(0.05)  # polling a file Chromium writes; bounded by the deadline above
        except BaseException:
            self.stop()
            raise

    def log_tail(self, limit: int = 4000) -> str:
        """The end of Chromium's stdout/stderr."""
        if self._tmpdir is None:
            return ""
        try:
            data = (self._tmpdir / "chromium.log").read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def stop(self, grace: float = 5.0, *, closing: bool = False) -> None:
        """Stop the browser and remove its profile.

        ``closing``: Browser.close was sent, so first give it ``grace`` s to exit by itself. Then SIGTERM to the
        process group, ``grace`` s more, and SIGKILL to whatever of the group is left.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            if closing:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=grace)
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=grace)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, if any
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        self.ws_url = None
        self.port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------------------------
# protocol connection
# --------------------------------------------------------------------------------------------------------------

EventHandler = Callable[[str, dict[str, Any]], None]


class CDPConnection:
    """One websocket to the browser endpoint; commands for page sessions carry their ``sessionId``."""

    def __init__(self, ws_url: str, *, command_timeout: float = 30.0) -> None:
        self.ws_url = ws_url
        self.command_timeout = command_timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = {}
        self._handlers: dict[str | None, EventHandler] = {}
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.closed = True
        self.handler_errors: list[str] = []

    async def open(self, timeout: float = 15.0) -> None:
        """Connect the websocket and start reading."""
        self._http = aiohttp.ClientSession(
            trust_env=False, timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout)
        )
        try:
            self._ws = await asyncio.wait_for(
                self._http.ws_connect(
                    self.ws_url,
                    max_msg_size=0,  # screenshots are large
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
                    autoping=True,
                ),
                timeout,
            )
        except BaseException:
            await self._http.close()
            self._http = None
            raise
        self.closed = False
        self._reader = asyncio.create_task(self._read(), name="cdp-reader")

    def on_events(self, session_id: str | None, handler: EventHandler | None) -> None:
        """Route events of ``session_id`` (None: browser-level events) to ``handler``."""
        if handler is None:
            self._handlers.pop(session_id, None)
        else:
            self._handlers[session_id] = handler

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and return its result; raises :class:`CDPError` / :class:`ChromiumError`."""
        if self.closed or self._ws is None:
            raise ChromiumError(f"{method}: DevTools connection is closed")
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = (method, session_id, future)
        limit = self.command_timeout if timeout is None else timeout
        try:
            await asyncio.wait_for(self._ws.send_str(json.dumps(message)), limit)
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise ChromiumError(f"{method}: no answer within {limit}s") from None
        finally:
            self._pending.pop(msg_id, None)

    async def _read(self) -> None:
        assert self._ws is not None
        reason = "websocket closed"
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                        break
                    continue
                data = json.loads(msg.data)
                if "id" in data:
                    entry = self._pending.get(data["id"])
                    if entry is None:
                        continue
                    method, _, future = entry
                    if future.done():
                        continue
                    if "error" in data:
                        future.set_exception(CDPError(method, data["error"]))
                    else:
                        future.set_result(data.get("result", {}))
                else:
                    handler = self._handlers.get(data.get("sessionId"))
                    if handler is not None:
                        try:
                            handler(data.get("method", ""), data.get("params", {}))
                        except Exception as exc:  # a broken handler must not kill the connection
                            self.handler_errors.append(f"{data.get('method')}: {exc!r}")
        except asyncio.CancelledError:
            reason = "connection closed"
            raise
        except Exception as exc:
            reason = f"websocket failed: {exc!r}"
        finally:
            self.closed = True
            for method, _, future in list(self._pending.values()):
                if not future.done():
                    future.set_exception(ChromiumError(f"{method}: {reason}"))
            for handler in list(self._handlers.values()):
                with contextlib.suppress(Exception):
                    handler("Harness.connectionClosed", {"reason": reason})

    def fail_session(self, session_id: str, reason: str) -> None:
        """Fail the pending commands of one session (its target crashed or went away)."""
        for method, session, future in list(self._pending.values()):
            if session == session_id and not future.done():
                future.set_exception(PageCrashed(f"{method}: {reason}"))

    async def close(self) -> None:
        """Close the websocket (does not close the browser)."""
        self.closed = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5.0)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5.0)
        if self._http is not None:
            await self._http.close()
        self._ws = self._reader = self._http = None


# --------------------------------------------------------------------------------------------------------------
# page
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ConsoleMessage:
    """A console call (source ``console``), browser log entry such as a CORS or network failure (source
    ``log:<source>``) or uncaught JS exception (source ``exception``, type ``error``)."""

    type: str
    text: str
    source: str = "console"
    url: str = ""

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"[{self.source}:{self.type}] {self.text}{where}"


@dataclass
class Request:
    """One network request a page made (Network.requestWillBeSent), completed by later events."""

    request_id: str
    url: str
    method: str
    resource_type: str
    post_data: str | None = None
    status: int | None = None
    mime_type: str | None = None
    error: str | None = None
    finished: bool = False

    @property
    def path(self) -> str:
        """The URL path."""
        return urlsplit(self.url).path

    @property
    def params(self) -> dict[str, str]:
        """Query parameters (and form-encoded POST body parameters), last value wins."""
        pairs = parse_qsl(urlsplit(self.url).query, keep_blank_values=True)
        if self.post_data and "=" in self.post_data and not self.post_data.lstrip().startswith(("{", "[")):
            pairs += parse_qsl(self.post_data, keep_blank_values=True)
        return dict(pairs)

    def __str__(self) -> str:
        state = self.error or (str(self.status) if self.status is not None else "pending")
        return f"{self.method} {self.url} [{self.resource_type}] -> {state}"


class Page:
    """One tab in its own browser context. Create with :meth:`Chromium.new_page`."""

    def __init__(
        self,
        browser: Chromium,
        target_id: str,
        session_id: str,
        context_id: str,
        width: int,
        height: int,
    ) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.context_id = context_id
        self.width = width
        self.height = height
        self.console_messages: list[ConsoleMessage] = []
        self.exceptions: list[str] = []
        self.requests: list[Request] = []
        self.crashed: str | None = None
        self.closed = False
        self._by_id: dict[str, Request] = {}
        self._lifecycle: dict[str, set[str]] = {}  # loaderId -> lifecycle event names seen
        self._lifecycle_changed = asyncio.Event()
        self._network_changed = asyncio.Event()

    # -- commands ---------------------------------------------------------------------------------------------

    async def send(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """Send a raw CDP command to this page's session."""
        if self.crashed:
            raise PageCrashed(self.crashed)
        return await self.browser.connection.send(method, params, session_id=self.session_id, timeout=timeout)

    async def goto(self, url: str, *, timeout: float = 30.0, wait_until: str = "load") -> None:
        """Navigate and wait for this navigation's ``wait_until`` lifecycle event (``load``, ``DOMContentLoaded``,
        ``networkIdle``...)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        result = await self.send("Page.navigate", {"url": url}, timeout=timeout)
        if result.get("errorText"):
            raise ChromiumError(f"navigation to {url} failed: {result['errorText']}")
        loader = result.get("loaderId")
        if loader is None:  # same-document (fragment) navigation: nothing to wait for
            return
        while wait_until not in self._lifecycle.get(loader, ()):
            if self.crashed:
                raise PageCrashed(f"{url}: {self.crashed}")
            self._lifecycle_changed.clear()
            try:
                await asyncio.wait_for(self._lifecycle_changed.wait(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                raise WaitTimeout(
                    f"{url} did not reach {wait_until!r} within {timeout}s\n{self.diagnostics()}"
                ) from None

    async def evaluate(self, expression: str, *, await_promise: bool = True, timeout: float = 30.0) -> Any:
        """Evaluate JS in the page and return its JSON-serialisable value (``None`` for undefined)."""
        result = await self.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "returnByValue": True,
                "awaitPromise": await_promise,
                "userGesture": True,
                "timeout": int(timeout * 1000),
            },
            timeout=timeout + 5.0,
        )
        details = result.get("exceptionDetails")
        if details:
            raise JavaScriptError(f"{expression!r} threw: {_exception_text(details)}")
        remote = result.get("result", {})
        if remote.get("type") == "undefined":
            return None
        if "unserializableValue" in remote:
            return float(remote["unserializableValue"]) if remote["unserializableValue"] != "-0" else -0.0
        return remote.get("value")

    async def wait_for(self, expression: str, *, timeout: float = 30.0, interval: float = 0.05) -> Any:
        """Poll ``expression`` until truthy and return its value; :class:`WaitTimeout` (with diagnostics) if not.

        An expression that throws counts as not yet true (e.g. ``window.__map.getZoom() > 3`` before the map
        exists); the last error is in the timeout message.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: Any = None
        while True:
            remaining = deadline - loop.time()
            try:
                last = await self.evaluate(expression, timeout=max(remaining, 1.0))
            except JavaScriptError as exc:
                last = exc
            except CDPError as exc:  # e.g. "Execution context was destroyed" while the page navigates
                if self.crashed:
                    raise
                last = exc
            if last and not isinstance(last, Exception):
                return last
            if remaining <= 0:
                raise WaitTimeout(
                    f"{expression!r} not truthy within {timeout}s (last value {last!r})\n{self.diagnostics()}"
                )
            await asyncio.sleep(min(interval, max(remaining, 0.0)))

    async def next_frame(self, frames: int = 2, *, timeout: float = 10.0) -> None:
        """Wait until the page has rendered ``frames`` more animation frames."""
        await self.evaluate(
            f"new Promise(r => {{ let n = {int(frames)}; "
            "const f = () => (--n <= 0 ? r(true) : requestAnimationFrame(f)); requestAnimationFrame(f); })",
            timeout=timeout,
        )

    async def screenshot(self, *, settle: bool = True, timeout: float = 30.0) -> bytes:
        """PNG of exactly the viewport (``width`` x ``height`` pixels at scale 1)."""
        if settle:
            await self.next_frame(timeout=timeout)
        result = await self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "clip": {"x": 0, "y": 0, "width": self.width, "height": self.height, "scale": 1},
                "fromSurface": True,
                "captureBeyondViewport": False,
            },
            timeout=timeout,
        )
        return base64.b64decode(result["data"])

    async def set_viewport(self, width: int, height: int) -> None:
        """Resize the emulated viewport (device scale factor stays 1)."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.width, self.height = width, height

    async def close(self) -> None:
        """Close the tab and dispose of its browser context."""
        if self.closed:
            return
        self.closed = True
        conn = self.browser.connection
        conn.on_events(self.session_id, None)
        if not conn.closed:
            with contextlib.suppress(ChromiumError):
                await conn.send("Target.closeTarget", {"targetId": self.target_id}, timeout=5.0)
            with contextlib.suppress(ChromiumError):
                await conn.send("Target.disposeBrowserContext", {"browserContextId": self.context_id}, timeout=5.0)
        self.crashed = self.crashed or "page closed"
        self._lifecycle_changed.set()
        with contextlib.suppress(ValueError):
            self.browser.pages.remove(self)

    # -- records ----------------------------------------------------------------------------------------------

    def requests_to(self, path_suffix: str, *, method: str | None = None) -> list[Request]:
        """Requests whose URL path ends with ``path_suffix`` (e.g. ``"/MapServer/export"``)."""
        return [
            r
            for r in self.requests
            if r.path.endswith(path_suffix) and (method is None or r.method.upper() == method.upper())
        ]

    async def wait_for_request(
        self, path_suffix: str, *, count: int = 1, finished: bool = True, timeout: float = 30.0
    ) -> list[Request]:
        """Wait until ``count`` requests to ``path_suffix`` were made (and, with ``finished``, completed or failed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matching = self.requests_to(path_suffix)
            if len(matching) >= count and (not finished or all(r.finished for r in matching[:count])):
                return matching
            if self.crashed:
                raise PageCrashed(self.crashed)
            self._network_changed.clear()
            try:
                await asyncio.wait_for(self._network_changed.wait(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                raise WaitTimeout(
                    f"no {count} {'finished ' if finished else ''}request(s) to {path_suffix} within {timeout}s\n"
                    f"{self.diagnostics()}"
                ) from None

    @property
    def errors(self) -> list[str]:
        """JS exceptions plus error-level console/log messages."""
        return self.exceptions + [str(m) for m in self.console_messages if m.type == "error"]

    def diagnostics(self, limit: int = 40) -> str:
        """Human-readable summary for assertion messages: console, exceptions, requests."""
        crashed = f" CRASHED: {self.crashed}" if self.crashed else ""
        lines = [f"page {self.target_id} ({self.width}x{self.height}){crashed}"]
        lines += ["console:"] + [f"  {m}" for m in self.console_messages[-limit:]]
        lines += ["requests:"] + [f"  {r}" for r in self.requests[-limit:]]
        return "\n".join(lines)

    # -- events -----------------------------------------------------------------------------------------------

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        handler = _EVENT_HANDLERS.get(method)
        if handler is not None:
            handler(self, params)
            if method.startswith("Network."):
                self._network_changed.set()

    def _on_lifecycle(self, params: dict[str, Any]) -> None:
        self._lifecycle.setdefault(params.get("loaderId", ""), set()).add(params.get("name", ""))
        self._lifecycle_changed.set()

    def _on_console(self, params: dict[str, Any]) -> None:
        text = " ".join(_remote_text(arg) for arg in params.get("args", []))
        frames = (params.get("stackTrace") or {}).get("callFrames") or [{}]
        url = frames[0].get("url", "")
        self.console_messages.append(ConsoleMessage(params.get("type", "log"), text, "console", url))

    def _on_exception(self, params: dict[str, Any]) -> None:
        details = params.get("exceptionDetails", {})
        text = _exception_text(details)
        self.exceptions.append(text)
        self.console_messages.append(ConsoleMessage("error", text, "exception", details.get("url", "")))

    def _on_log(self, params: dict[str, Any]) -> None:
        entry = params.get("entry", {})
        self.console_messages.append(
            ConsoleMessage(
                entry.get("level", "info"),
                entry.get("text", ""),
                f"log:{entry.get('source', '')}",
                entry.get("url", ""),
            )
        )

    def _on_request(self, params: dict[str, Any]) -> None:
        request_id = params.get("requestId", "")
        redirected = params.get("redirectResponse")
        previous = self._by_id.get(request_id)
        if redirected and previous is not None:
            previous.status = redirected.get("status")
            previous.mime_type = redirected.get("mimeType")
            previous.finished = True
        req = params.get("request", {})
        record = Request(
            request_id=request_id,
            url=req.get("url", "") + req.get("urlFragment", ""),
            method=req.get("method", "GET"),
            resource_type=params.get("type", "Other"),
            post_data=req.get("postData") or _post_entries(req.get("postDataEntries")),
        )
        self._by_id[request_id] = record
        self.requests.append(record)

    def _on_response(self, params: dict[str, Any]) -> None:
        record = self._by_id.get(params.get("requestId", ""))
        if record is not None:
            response = params.get("response", {})
            record.status = response.get("status")
            record.mime_type = response.get("mimeType")

    def _on_finished(self, params: dict[str, Any]) -> None:
        record = self._by_id.get(params.get("requestId", ""))
        if record is not None:
            record.finished = True

    def _on_failed(self, params: dict[str, Any]) -> None:
        record = self._by_id.get(params.get("requestId", ""))
        if record is not None:
            record.finished = True
            reason = params.get("errorText", "failed")
            extra = params.get("blockedReason") or (params.get("corsErrorStatus") or {}).get("corsError")
            record.error = f"{reason} ({extra})" if extra else reason

    def _on_crash(self, params: dict[str, Any]) -> None:
        self.crashed = params.get("reason") or "renderer crashed"
        self._lifecycle_changed.set()
        self._network_changed.set()
        if self.browser._connection is not None:
            self.browser._connection.fail_session(self.session_id, self.crashed)

    def _on_connection_closed(self, params: dict[str, Any]) -> None:
        self.crashed = self.crashed or f"DevTools connection lost: {params.get('reason', '')}"
        self._lifecycle_changed.set()
        self._network_changed.set()


_EVENT_HANDLERS: dict[str, Callable[[Page, dict[str, Any]], None]] = {
    "Page.lifecycleEvent": Page._on_lifecycle,
    "Runtime.consoleAPICalled": Page._on_console,
    "Runtime.exceptionThrown": Page._on_exception,
    "Log.entryAdded": Page._on_log,
    "Network.requestWillBeSent": Page._on_request,
    "Network.responseReceived": Page._on_response,
    "Network.loadingFinished": Page._on_finished,
    "Network.loadingFailed": Page._on_failed,
    "Inspector.targetCrashed": Page._on_crash,
    "Inspector.detached": Page._on_crash,
    "Harness.connectionClosed": Page._on_connection_closed,
}


def _remote_text(arg: dict[str, Any]) -> str:
    if "value" in arg:
        value = arg["value"]
        return value if isinstance(value, str) else json.dumps(value)
    return str(arg.get("description") or arg.get("unserializableValue") or arg.get("type", ""))


def _exception_text(details: dict[str, Any]) -> str:
    exc = details.get("exception") or {}
    return str(exc.get("description") or exc.get("value") or details.get("text") or "exception")


def _post_entries(entries: list[dict[str, Any]] | None) -> str | None:
    if not entries:
        return None
    chunks = []
    for entry in entries:
        with contextlib.suppress(ValueError):
            chunks.append(base64.b64decode(entry.get("bytes", "")).decode("utf-8", "replace"))
    return "".join(chunks) or None


# --------------------------------------------------------------------------------------------------------------
# browser
# --------------------------------------------------------------------------------------------------------------


class Chromium:
    """Async DevTools client for a headless Chromium.

    ``async with Chromium() as browser`` launches (and on exit closes) its own browser;
    ``async with Chromium(process=p)`` connects to an already running :class:`ChromiumProcess` and on exit only
    closes its own pages and the websocket.
    """

    def __init__(
        self,
        executable: str | None = None,
        *,
        process: ChromiumProcess | None = None,
        window_size: tuple[int, int] = WINDOW_SIZE,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        command_timeout: float = 30.0,
    ) -> None:
        self._owns_process = process is None
        self.process = process or ChromiumProcess(
            executable, window_size=window_size, extra_args=extra_args, startup_timeout=startup_timeout
        )
        self.command_timeout = command_timeout
        self.pages: list[Page] = []
        self._connection: CDPConnection | None = None

    @property
    def connection(self) -> CDPConnection:
        """The DevTools connection (after ``__aenter__``)."""
        if self._connection is None:
            raise ChromiumError("Chromium is not started: use 'async with Chromium() as browser'")
        return self._connection

    async def start(self) -> Self:
        """Launch the process if needed and connect."""
        try:
            if self._owns_process or not self.process.alive:
                await asyncio.to_thread(self.process.start)
            assert self.process.ws_url is not None
            self._connection = CDPConnection(self.process.ws_url, command_timeout=self.command_timeout)
            await self._connection.open()
            self._connection.on_events(None, self._on_browser_event)
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close pages and the connection; if this object launched the browser, close and kill it too."""
        for page in list(self.pages):
            with contextlib.suppress(Exception):
                await page.close()
        conn, self._connection = self._connection, None
        closing = False
        if conn is not None:
            if self._owns_process and not conn.closed:
                with contextlib.suppress(ChromiumError):
                    await conn.send("Browser.close", timeout=5.0)
                    closing = True
            await conn.close()
        if self._owns_process:
            await asyncio.to_thread(self.process.stop, closing=closing)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def version(self) -> dict[str, Any]:
        """Browser.getVersion."""
        return await self.connection.send("Browser.getVersion")

    async def new_page(self, width: int = 800, height: int = 600) -> Page:
        """Open a blank tab ``width`` x ``height`` CSS px (= screenshot px) in a fresh browser context."""
        conn = self.connection
        context_id = (await conn.send("Target.createBrowserContext", {"disposeOnDetach": True}))["browserContextId"]
        # The window is at least --window-size: tiny windows (< ~100 px) count as hidden (no frames, screenshots
        # hang). The viewport is then set exactly by Emulation.setDeviceMetricsOverride.
        win_w, win_h = self.process.window_size
        target_id = (
            await conn.send(
                "Target.createTarget",
                {
                    "url": "about:blank",
                    "browserContextId": context_id,
                    "width": max(width, win_w),
                    "height": max(height, win_h),
                },
            )
        )["targetId"]
        session_id = (await conn.send("Target.attachToTarget", {"targetId": target_id, "flatten": True}))["sessionId"]
        page = Page(self, target_id, session_id, context_id, width, height)
        conn.on_events(session_id, page._on_event)
        self.pages.append(page)
        try:
            await asyncio.gather(
                page.send("Page.enable"),
                page.send("Runtime.enable"),
                page.send("Log.enable"),
                page.send("Network.enable", {"maxPostDataSize": 65536}),
                page.send("Inspector.enable"),
            )
            await page.send("Page.setLifecycleEventsEnabled", {"enabled": True})
            await page.send("Network.setCacheDisabled", {"cacheDisabled": True})
            await page.set_viewport(width, height)
        except BaseException:
            await page.close()
            raise
        return page

    def _on_browser_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Target.detachedFromTarget":
            for page in self.pages:
                if page.session_id == params.get("sessionId") and not page.closed:
                    page._on_crash({"reason": "target detached"})
        elif method == "Harness.connectionClosed":
            for page in self.pages:
                page._on_connection_closed(params)
