"""scripts/store_notebooks.py: what a stored notebook holds, and that storing fails loudly."""
import base64
import importlib.util
import pathlib
import subprocess
import sys

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "store_notebooks.py"
_spec = importlib.util.spec_from_file_location("store_notebooks", SCRIPT)
store_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_notebooks)

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
BAR = {"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
       "text/plain": "baseline:   0%|          | 0/368 [00:00<?, ?it/s]"}


def ran(outputs_by_cell, widgets=True):
    """A notebook as nbclient leaves it: counts 1..n, timings, widget state, the old display name."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                                    "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                                    "pygments_lexer": "ipython3", "version": "3.11.7"}
    if widgets:
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells.append(nbformat.v4.new_markdown_cell("# title"))
    for count, (source, outputs) in enumerate(outputs_by_cell, 1):
        cell = nbformat.v4.new_code_cell(source, execution_count=count, outputs=outputs)
        cell.metadata["execution"] = {"iopub.status.idle": "2026-11-27T21:21:52.659874Z"}
        nb.cells.append(cell)
    return nb


def stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_progress_bars_are_recognized_by_their_text_and_widget():
    assert store_notebooks.is_progress_bar(nbformat.v4.new_output("display_data", data=BAR))
    no_desc = dict(BAR, **{"text/plain": " 40%|####      | 2/5 [00:01<00:01,  2.00it/s]"})
    assert store_notebooks.is_progress_bar(nbformat.v4.new_output("display_data", data=no_desc))
    as_text = {"text/plain": BAR["text/plain"]}  # printed, not a widget: a reader can read it
    assert not store_notebooks.is_progress_bar(nbformat.v4.new_output("display_data", data=as_text))
    explorer = dict(BAR, **{"text/plain": "VBox(children=(HBox(children=(VBox(children=(Dropdown("})
    assert not store_notebooks.is_progress_bar(nbformat.v4.new_output("display_data", data=explorer))


def test_normalize_drops_bars_and_widget_state_and_keeps_the_epoch_lines():
    epoch = stream("  epoch   1/8  train loss 2.051\n")
    nb = ran([("fit(model)", [nbformat.v4.new_output("display_data", data=BAR), epoch]), ("1 + 1", [])])
    assert store_notebooks.problems(nb)  # as run: not normalized

    stored = store_notebooks.normalize(nb)

    assert stored.cells[1].outputs == [epoch]
    assert "widgets" not in stored.metadata
    assert stored.metadata.kernelspec == store_notebooks.KERNELSPEC
    assert all("execution" not in cell.metadata for cell in stored.cells)
    assert store_notebooks.problems(stored, store_notebooks.text_as_jupyterlab_saves(stored)) == []
    assert "widgets" in nb.metadata, "normalize changed its argument"


def test_the_explorer_becomes_its_picture_and_a_line_to_run_it():
    view = nbformat.v4.new_output("display_data", data=dict(BAR, **{"text/plain": "HBox(children=(...))"}))
    nb = ran([('explorer = ReceptiveFieldExplorer("VGG-16 (Table 1, column D)")\nexplorer', [view])])
    assert any("explorer" in p for p in store_notebooks.problems(nb))

    stored = store_notebooks.normalize(nb, explorer_png=PNG)

    picture, line = stored.cells[1].outputs
    assert base64.b64decode(picture.data["image/png"]) == PNG
    assert "Run this cell to use the explorer" in line.data["text/markdown"]
    assert store_notebooks.problems(stored) == []
    # without a picture the cell keeps its output, and only the explorer's cell is then excused
    kept = store_notebooks.normalize(nb)
    assert kept.cells[1].outputs == [view]
    assert store_notebooks.problems(kept, explorer=False) == []


@pytest.mark.filterwarnings("ignore:Cell is missing an id field")
def test_problems_name_what_is_wrong():
    nb = store_notebooks.normalize(ran([("1", []), ("2", [])]))
    nb.cells[2].execution_count = 5
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="", traceback=[])]
    del nb.cells[0]["id"]
    found = "\n".join(store_notebooks.problems(nb, "{}"))
    for expected in ("code cell 2 has 5", "an error output (ZeroDivisionError)", "cells without ids",
                     "JSON layout"):
        assert expected in found


def test_writing_replaces_the_file_whole_and_leaves_nothing_beside_it(tmp_path, monkeypatch):
    path = tmp_path / "a.ipynb"
    path.write_text("old")
    store_notebooks.write_atomically(path, "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(store_notebooks.os, "replace", fail)
    with pytest.raises(OSError):
        store_notebooks.write_atomically(path, "half")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]


def _write(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)
    return path.read_text()


def _store(*args, cwd=None):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def test_storing_runs_the_notebook_and_stores_it_normalized(tmp_path):
    path = tmp_path / "demo.ipynb"
    _write(path, [
        "import os\nfrom tqdm.auto import tqdm\nfor _ in tqdm(range(3), desc='demo'):\n    pass\n"
        "print('epoch 1 done in', os.environ['CNNLIB_MODE'], 'mode')",
        "from cnnlib.widgets import ReceptiveFieldExplorer\n\nReceptiveFieldExplorer('one 5x5 convolution (64 channels)')",
        "6 * 7",
    ])
    run = _store(path, "--results", tmp_path / "records")
    assert run.returncode == 0, run.stderr
    assert _store("--check", path).returncode == 0

    nb = nbformat.read(path, as_version=4)
    bar_cell, explorer_cell, last = (cell for cell in nb.cells)
    assert [o.output_type for o in bar_cell.outputs] == ["stream"]
    assert "epoch 1 done in quick mode" in bar_cell.outputs[0].text
    assert "image/png" in explorer_cell.outputs[0].data
    assert last.outputs[0].data["text/plain"] == "42"


def test_a_cell_that_raises_fails_the_run_and_leaves_the_notebook_as_it_was(tmp_path):
    path = tmp_path / "broken.ipynb"
    before = _write(path, ["x = 1", "1 / 0", "print('never')"])
    run = _store(path, "--results", tmp_path / "records")
    assert run.returncode == 1
    assert "broken.ipynb" in run.stderr and "cell 2" in run.stderr and "ZeroDivisionError" in run.stderr
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name != "records"] == ["broken.ipynb"]


def test_the_stored_notebooks_are_normalized():
    found = [f"{path.name}: {problem}" for path in sorted((ROOT / "notebooks").glob("*.ipynb"))
             for problem in store_notebooks.check(path)]
    assert not found, "\n".join(found)
