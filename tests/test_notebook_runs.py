"""Notebook runs under pytest: nothing lands in the checkout, and what conftest.py
does against nbval's "Timeout ... waiting for output" still takes effect."""
import inspect
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

import conftest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHORT_NOTEBOOK = ROOT / "notebooks" / "00_start_here.ipynb"


def test_nbval_reads_the_output_wait_that_conftest_raises():
    # conftest sets IPyNbCell.output_timeout on every collected cell. If nbval renames
    # it or stops reading it there, the longer wait silently stops working: fail here.
    from nbval.plugin import IPyNbCell

    assert "self.output_timeout = 5" in inspect.getsource(IPyNbCell.__init__)
    assert "timeout=self.output_timeout" in inspect.getsource(IPyNbCell.runtest)


def test_nbval_still_has_no_option_for_the_output_wait():
    # When nbval gets one, use it in pyproject's addopts and drop conftest's attribute setting.
    from nbval import plugin

    options = set(re.findall(r"addoption\(\s*['\"](--[\w-]+)", inspect.getsource(plugin.pytest_addoption)))
    assert "--nbval-cell-timeout" in options, f"cannot read nbval's options: {options}"
    timeouts = {option for option in options if "timeout" in option or "output" in option}
    assert timeouts == {"--nbval-cell-timeout", "--nbval-kernel-startup-timeout"}, \
        f"nbval has new options {timeouts}: if one sets the output wait, use it instead of conftest's"


def test_the_output_wait_is_raised(pytestconfig):
    assert pytestconfig.getoption("--notebook-output-timeout") >= 60


def test_kernels_refresh_progress_bars_rarely():
    # A kernel inherits this session's environment; tqdm reads it when imported.
    # Every refresh of a notebook bar is 2-3 messages that nbval leaves queued until the
    # cell ends, and ZeroMQ drops what does not fit, the cell's "idle" included.
    show = "import io, tqdm; print(tqdm.tqdm(total=1, file=io.StringIO()).mininterval)"
    run = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True, check=True)
    assert float(run.stdout) >= 1, f"tqdm refreshes every {run.stdout.strip()} s (needs tqdm >= 4.66)"


def test_results_go_to_a_session_folder_outside_the_checkout():
    from cnnlib import results

    assert conftest.RESULTS_VARIABLE == results.RESULTS_VARIABLE
    folder = results.results_folder().resolve()
    assert folder == pathlib.Path(os.environ[conftest.RESULTS_VARIABLE]).resolve()
    assert ROOT not in folder.parents, f"results would go into the checkout: {folder}"


def _git_status():
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.splitlines()


def _files(folder):
    return {(path, path.stat().st_mtime_ns, path.stat().st_size) for path in folder.rglob("*") if path.is_file()}


def _one_epoch_copy(path, folder):
    """A copy of the notebook whose parameters cell trains one epoch (outputs cleared)."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = "".join(cell["source"]) + "\nEPOCHS = 1  # the test: one epoch is enough\n"
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    copy = folder / path.name
    copy.write_text(json.dumps(nb))
    return copy


RUN_IN_NOTEBOOKS_FOLDER = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
"""


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_running_a_notebook_changes_nothing_in_the_checkout(tmp_path):
    # The notebook runs as nbval runs it: in notebooks/, with this session's environment
    # (conftest's CNNLIB_RESULTS). One epoch instead of the recipe's budget keeps it short.
    # Another process editing the checkout meanwhile would show here too.
    results = pathlib.Path(os.environ[conftest.RESULTS_VARIABLE])
    before, records_before = _git_status(), _files(results)
    notebook = _one_epoch_copy(SHORT_NOTEBOOK, tmp_path)
    env = dict(os.environ, CNNLIB_MODE="quick")
    env.setdefault("OMP_NUM_THREADS", "1")
    run = subprocess.run([sys.executable, "-c", RUN_IN_NOTEBOOKS_FOLDER, str(notebook), str(SHORT_NOTEBOOK.parent)],
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{SHORT_NOTEBOOK.name} failed:\n{run.stderr[-4000:]}"
    changed = sorted(set(_git_status()) - set(before))
    assert not changed, f"running {SHORT_NOTEBOOK.name} changed the checkout: {changed}"
    assert _files(results) != records_before, "the notebook recorded nothing in the session's results folder"
