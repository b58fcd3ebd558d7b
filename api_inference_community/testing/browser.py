"""Headless Chromium for browser tests: Debian's `chromium`, driven by Playwright over the DevTools protocol.

    from api_inference_community.testing.browser import Browser, artefacts_dir, browser_or_skip

    with Browser() as browser:                  # chromium starts headless; its pid is browser.pid
        status = browser.open(url)              # load a URL (waits for its load event): the HTTP status
        browser.fill("#text", "Hello")          # type into an input or a textarea (replacing its value)
        browser.upload("#image", path)          # choose a file in an <input type=file>
        browser.click("button[type=submit]")
        browser.wait_for("#result li")          # wait until an element is visible (BrowserTimeout if not)
        browser.text("#result")                 # an element's text, as rendered
        browser.screenshot(path)                # the whole page, as PNG
        browser.requests                        # the network log: every URL the browser asked for
        browser.errors                          # script errors and console errors (failed loads, CSP violations)
        browser.page                            # the Playwright `Page`, for anything else
    # on exit: the connection is closed, the process stopped by its pid, its profile removed

- The browser is `$AIC_CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on PATH; when
  none is there, `scripts/chromium.sh` installs Debian's `chromium` and `chromium-driver` (root, apt-get).
- It runs with a fresh profile (`--user-data-dir`), headless, without sandbox (root), GPU, QUIC, first-run
  screens, background networking, component updates or sync; remote debugging on 127.0.0.1 only.
- Nothing leaves the machine: unless `allow_external=True`, every request for a host other than the
  loopback goes to a proxy that does not exist, and fails (loopback addresses never use a proxy).
- `browser_or_skip()`, in a pytest fixture: a started `Browser`, or the test is skipped with one line
  saying why (`AIC_REQUIRE_BROWSER=1` turns that into a failure).
- `artefacts_dir(name)`: the folder for a test's screenshots (`$AIC_ARTEFACTS_DIR/name`, else
  `.cache/artefacts/name` in the checkout), created.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

CHECKOUT = Path(__file__).resolve().parents[2]
INSTALLER = CHECKOUT / "scripts" / "chromium.sh"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
START_TIMEOUT_S = 60.0  # a loaded machine may take that long
PathLike = Union[str, Path]


class BrowserUnavailable(RuntimeError):
    """No headless Chromium can be started here (the message says why)."""


class BrowserTimeout(AssertionError):
    """An element did not appear in time."""


def find_chromium(install: bool = True) -> str:
    """The browser's path; installs Debian's chromium with scripts/chromium.sh when none is found."""
    for candidate in (os.environ.get("AIC_CHROMIUM", ""), *CANDIDATES):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    if install and INSTALLER.is_file():
        result = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=900)
        if result.returncode == 0:
            return find_chromium(install=False)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BrowserUnavailable(lines[-1] if lines else f"{INSTALLER.name} failed ({result.returncode})")
    raise BrowserUnavailable("no chromium on PATH (install Debian's chromium: scripts/chromium.sh)")


def artefacts_dir(name: str) -> Path:
    """The folder for a test's artefacts (screenshots), created: $AIC_ARTEFACTS_DIR/name or .cache/artefacts/name."""
    root = Path(os.environ.get("AIC_ARTEFACTS_DIR") or CHECKOUT / ".cache" / "artefacts")
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """One headless Chromium process and one page of it (see the module's docstring)."""

    def __init__(
        self,
        executable: Optional[str] = None,
        args: Sequence[str] = (),
        allow_external: bool = False,
        timeout_s: float = 30.0,
        viewport: tuple = (1280, 900),
    ) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise BrowserUnavailable("playwright is not installed (pip install -r requirements/dev.txt)") from None
        executable = executable or find_chromium()
        self.timeout_s = timeout_s
        self.requests: List[str] = []
        self.errors: List[str] = []
        self._home = Path(tempfile.mkdtemp(prefix="aic-chromium-"))
        profile = self._home / "profile"
        command = [executable, *FLAGS, f"--user-data-dir={profile}"]
        command.append(f"--window-size={viewport[0]},{viewport[1]}")
        if not allow_external:
            command.append(f"--proxy-server=http://127.0.0.1:{_unused_port()}")
        command.extend(args)
        self._log = open(self._home / "chromium.log", "wb")
        try:
            self.process = subprocess.Popen(
                [*command, "about:blank"], stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        except OSError as error:
            self._log.close()
            shutil.rmtree(self._home, ignore_errors=True)
            raise BrowserUnavailable(f"cannot run {executable}: {error.strerror}") from None
        self.pid = self.process.pid
        self._playwright: Any = None
        self._browser: Any = None
        try:
            port = self._debugging_port(profile / "DevToolsActivePort")
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
            context = self._browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.on("request", lambda request: self.requests.append(request.url))
            self.page = context.new_page()
            self.page.set_default_timeout(timeout_s * 1000)
            self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
            self.page.on("console", self._console)
        except BaseException:
            self.stop()
            raise

    def _debugging_port(self, port_file: Path) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserUnavailable(f"chromium exited with {self.process.returncode}: {self.log()[-500:]}")
            if port_file.is_file():
                first = port_file.read_text().split("\n", 1)[0].strip()
                if first.isdigit():
                    return int(first)
            time.sleep(0.05)
        raise BrowserUnavailable(f"chromium did not open its debugging port within {START_TIMEOUT_S:.0f} s")

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    # ------------------------------------------------------------------ actions

    def open(self, url: str) -> int:
        """Load `url` and wait for its load event; the HTTP status of the answer (0 if none)."""
        response = self.page.goto(url, wait_until="load")
        return response.status if response is not None else 0

    def fill(self, selector: str, text: str) -> None:
        self.page.fill(selector, text)

    def upload(self, selector: str, path: PathLike) -> None:
        self.page.set_input_files(selector, str(path))

    def click(self, selector: str) -> None:
        self.page.click(selector)

    def wait_for(self, selector: str, timeout_s: Optional[float] = None, state: str = "visible") -> None:
        """Wait until an element matching `selector` is in `state` (visible, attached, hidden, detached)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_selector(selector, state=state, timeout=(timeout_s or self.timeout_s) * 1000)
        except PlaywrightTimeout:
            raise BrowserTimeout(f"`{selector}` not {state} within {timeout_s or self.timeout_s:.0f} s") from None

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def screenshot(self, path: PathLike) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def log(self) -> str:
        """What chromium printed."""
        if not self._log.closed:
            self._log.flush()
        return (self._home / "chromium.log").read_text(errors="replace")

    # ------------------------------------------------------------------ lifetime

    def stop(self) -> None:
        """Close the connection, stop the process by its pid, remove the profile (idempotent)."""
        for close in (getattr(self._browser, "close", None), getattr(self._playwright, "stop", None)):
            if close is not None:
                try:
                    close()
                except Exception:  # the browser may already be gone: the process is stopped below
                    pass
        self._browser = self._playwright = None
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def browser_or_skip(**kwargs: Any) -> Browser:
    """A started Browser, or skip the test with one line saying why (a failure with AIC_REQUIRE_BROWSER=1)."""
    import pytest

    try:
        return Browser(**kwargs)
    except BrowserUnavailable as error:
        if os.environ.get("AIC_REQUIRE_BROWSER", "") == "1":
            pytest.fail(f"AIC_REQUIRE_BROWSER=1 but no headless Chromium: {error}", pytrace=False)
        pytest.skip(f"no headless Chromium: {error}")
