"""Session-wide settings for the tests and for the notebooks that nbval runs.

- Results that notebooks and tests record go to a temporary folder for the
  session ($CNNLIB_RESULTS), never into the checkout; the kernels nbval starts
  inherit it.
- "Timeout of 5 seconds exceeded waiting for output" has two causes, both met
  by the notebooks' training cells:
  * nbval waits a fixed 5 s for each of a cell's output messages after the cell
    has finished; on a loaded machine they come later. The wait is raised here
    (--notebook-output-timeout, default NOTEBOOK_OUTPUT_TIMEOUT seconds).
  * nbval reads none of a cell's output until the cell has finished, and ZeroMQ
    queues only so many messages (1,200 to 8,000 in runs here): beyond that the
    kernel's messages are dropped, the cell's last one ("idle") included, and
    nbval waits for it in vain. tqdm's notebook bar sends 2-3 messages per
    refresh, up to ten refreshes a second, so a cell that trains for minutes
    can exceed it (notebook 05's training cell: about 1,200 messages got through
    of some 4,000, and no idle).
    Kernels started under pytest refresh their bars at most every
    PROGRESS_REFRESH_SECONDS ($TQDM_MININTERVAL, read by tqdm >= 4.66; a value
    already set is kept).
- Fixtures the training tests share: `small_data` (a small piece of the
  embedded subset) and `results_in_tmp` (a test's own results folder).
- The `browser` marker (tests/test_browser.py); deselect with -m "not browser".
  Its screenshots go to $CNNLIB_SCREENSHOTS, else a temporary folder, printed
  at the end of the run.

pytest reads this file for tests/ and for a plain `pytest` (tests/ is in
testpaths); `pytest notebooks/NN.ipynb` alone does not read it.
"""
import os
import pathlib
import shutil
import tempfile

import pytest

NOTEBOOK_OUTPUT_TIMEOUT = 120  # seconds; nbval's own is 5. Only a stalled kernel ever waits this long.
PROGRESS_REFRESH_SECONDS = "10"  # an hour of training in one cell: about 900 messages from its bars
PROGRESS_VARIABLE = "TQDM_MININTERVAL"
RESULTS_VARIABLE = "CNNLIB_RESULTS"  # cnnlib.results reads it; a test checks the two agree
SCREENSHOTS_VARIABLE = "CNNLIB_SCREENSHOTS"

_screenshots = pytest.StashKey[pathlib.Path]()
_results = pytest.StashKey[tuple]()


def pytest_addoption(parser):
    parser.addoption("--notebook-output-timeout", type=float, default=NOTEBOOK_OUTPUT_TIMEOUT,
                     help="seconds nbval waits for a notebook cell's output after the cell finished "
                          f"(nbval's own wait is 5 s; default here {NOTEBOOK_OUTPUT_TIMEOUT})")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs JupyterLab in a headless Chromium (tests/test_browser.py)")
    # The notebooks' checked outputs are quick mode's: on a GPU machine they would otherwise run in full mode.
    os.environ.setdefault("CNNLIB_MODE", "quick")
    folder = tempfile.mkdtemp(prefix="cnnlib-test-results-")
    config.stash[_results] = (folder, os.environ.get(RESULTS_VARIABLE), PROGRESS_VARIABLE in os.environ)
    os.environ[RESULTS_VARIABLE] = folder
    os.environ.setdefault(PROGRESS_VARIABLE, PROGRESS_REFRESH_SECONDS)


def pytest_unconfigure(config):
    folder, previous, progress_was_set = config.stash.get(_results, (None, None, True))
    if folder is None:
        return
    if previous is None:
        os.environ.pop(RESULTS_VARIABLE, None)
    else:
        os.environ[RESULTS_VARIABLE] = previous
    if not progress_was_set:
        os.environ.pop(PROGRESS_VARIABLE, None)
    shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # no nbval, no notebook items
        return
    timeout = config.getoption("--notebook-output-timeout")
    for item in items:
        if isinstance(item, IPyNbCell):
            # nbval has no option for this wait: IPyNbCell.__init__ sets the attribute
            # output_timeout = 5 and runtest() reads it for every output message.
            # tests/test_notebook_runs.py fails if nbval stops reading it or grows an option.
            if not hasattr(item, "output_timeout"):
                raise pytest.UsageError("nbval's notebook cells no longer have output_timeout: "
                                        "update --notebook-output-timeout in conftest.py")
            item.output_timeout = timeout


@pytest.fixture(scope="session")
def small_data():
    """256 training and 100 test images of the embedded subset, on the CPU (a module may define its own)."""
    from cnnlib import data

    return data.load_cifar10("embedded", device="cpu", verbose=False).subset(train=256, test=100)


@pytest.fixture
def results_in_tmp(tmp_path, monkeypatch):
    """Records and checkpoints in the test's own folder, and no stop left from an earlier test."""
    from cnnlib import results, train

    monkeypatch.setenv(results.RESULTS_VARIABLE, str(tmp_path / "results"))
    train.clear_stop()


@pytest.fixture(scope="session")
def screenshots_dir(request):
    """Where the browser test puts its screenshots; kept after the run."""
    if os.environ.get(SCREENSHOTS_VARIABLE):
        folder = pathlib.Path(os.environ[SCREENSHOTS_VARIABLE]).resolve()
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = pathlib.Path(tempfile.mkdtemp(prefix="cnnlib-screenshots-"))
    request.config.stash[_screenshots] = folder
    return folder


def pytest_terminal_summary(terminalreporter, config):
    folder = config.stash.get(_screenshots, None)
    if folder is not None:
        terminalreporter.write_line(f"browser screenshots: {folder}")
