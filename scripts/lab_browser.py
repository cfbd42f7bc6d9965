"""JupyterLab in a headless Chromium: a server on a free port, a page, a notebook's cell run alone.

Used by tests/test_browser.py (the explorer as a learner meets it) and by
scripts/make_assets.py (the picture of the explorer the README shows). Needs
Debian's /usr/bin/chromium (or $CNNLIB_CHROMIUM) and the playwright and
jupyterlab packages (the test extra).
"""
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

CHROMIUM = os.environ.get("CNNLIB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}  # a laptop's window; JupyterLab's file browser stays open
SCREENSHOT_HEIGHT = 2000  # px: the window's height while it takes a picture of a whole element
STARTUP_SECONDS = 60  # JupyterLab's server, and then the page and its kernel, each get this long
# JupyterLab's defaults but for the news and update checks, which would go online.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


class BrowserError(RuntimeError):
    """JupyterLab or the page did not do what was waited for; the message says what."""


def missing():
    """Why this machine cannot drive JupyterLab in a browser (one line), or None."""
    for module, package in (("playwright", "playwright"), ("jupyterlab", "jupyterlab")):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {package} is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (Debian/Ubuntu: apt-get install chromium)"
    return None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process):
    """End JupyterLab and the kernels it started (its whole process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group, kernels included
    process.wait(timeout=15)


@contextlib.contextmanager
def jupyterlab(root, home):
    """A JupyterLab server on a free port serving `root`, its settings and state in `home`.

    No token, no browser. Yields the base URL; the server and its kernels are
    stopped on the way out, whatever happened.
    """
    for name, settings in LAB_SETTINGS.items():
        path = home / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               "--IdentityProvider.token=", "--ServerApp.password=",
               f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={home / 'user-settings'}",
               f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    if os.geteuid() == 0:  # CI containers run as root, which JupyterLab refuses unless told
        command.append("--allow-root")
    log_path = home / "jupyterlab.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise BrowserError(f"JupyterLab exited with {process.returncode} on startup:\n"
                                   f"{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise BrowserError(f"JupyterLab did not answer within {STARTUP_SECONDS} s:\n"
                                       f"{log_path.read_text()[-3000:]}") from None
                time.sleep(0.25)
        yield url
    finally:
        _stop(process)


class Console:
    """The page's console errors and uncaught exceptions, less failed badge images.

    Images from other hosts (the Colab badge) cannot load here: every request
    off this machine is refused, so the page never waits on a network.
    """

    def __init__(self, page, local):
        self.local, self.errors, self.failed_images = local, [], set()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("requestfailed", self._on_failed)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(local) else route.abort())

    def _on_console(self, message):
        if message.type == "error":
            self.errors.append((message.text, message.location.get("url", "")))

    def _on_failed(self, request):
        if request.resource_type == "image" and not request.url.startswith(self.local):
            self.failed_images.add(request.url)

    def unexpected(self):
        return [error for error in self.errors
                if not (isinstance(error, tuple) and error[0].startswith("Failed to load resource")
                        and error[1] in self.failed_images)]


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise BrowserError(f"waited {seconds} s for {what}")
        time.sleep(0.2)


def screenshot(page, element, path):
    """The whole element: the window grows taller for the picture (same width), then shrinks back."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": SCREENSHOT_HEIGHT})
    element.scroll_into_view_if_needed()
    element.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def code_cell_index(notebook, text):
    """The index of the one code cell of `notebook` (a path) whose source contains `text`."""
    cells = json.loads(notebook.read_text())["cells"]
    found = [i for i, cell in enumerate(cells) if cell["cell_type"] == "code" and text in "".join(cell["source"])]
    if len(found) != 1:
        raise BrowserError(f"{notebook.name}: expected one code cell with {text!r}, found {len(found)}")
    return found[0]


def run_cell_alone(page, url, notebook_name, index, source_text):
    """Open the notebook, run the code cell `index` alone (as a learner who jumps to it would),
    and return the cell's locator once its prompt says [1]."""
    page.goto(f"{url}/lab/tree/{notebook_name}")
    page.locator('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    wait_until(lambda: source_text in cell.locator(".jp-InputArea").inner_text(), STARTUP_SECONDS,
               f"cell {index} to show its source")
    cell.locator(".jp-InputPrompt").click()
    wait_until(lambda: "jp-mod-active" in cell.get_attribute("class"), STARTUP_SECONDS, "the cell to be selected")
    page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:run-cell-and-select-next"]').click()
    wait_until(lambda: cell.locator(".jp-InputPrompt").inner_text().strip() == "[1]:", STARTUP_SECONDS,
               f"cell {index} to run (prompt [1]:)")
    return cell
