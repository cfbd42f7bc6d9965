"""Run the course's notebooks and store them as a reader should see them.

    python scripts/store_notebooks.py                      # every notebook in notebooks/
    python scripts/store_notebooks.py notebooks/03_vgg.ipynb --results /tmp/records
    python scripts/store_notebooks.py --check              # only verify the stored notebooks
    python scripts/store_notebooks.py --publish            # and ship the runs and claim checks as quick references

Each notebook runs top to bottom in a fresh kernel (nbclient) in quick mode
(CNNLIB_MODE=quick), its records going to a temporary folder unless --results
is given. Then it is normalized:

- tqdm's progress bars are dropped: stored, they are widget views that show a
  frozen "name:   0%|" line above the finished epoch lines (which stay);
- the notebook-level widget state is dropped (no widget can render from it
  without a kernel, and it makes every stored run a large diff);
- the receptive-field explorer's output becomes a picture of it
  (ReceptiveFieldExplorer.snapshot_png) and a line saying to run the cell;
- the metadata is what JupyterLab 4 writes when it saves, so that opening a
  stored notebook does not mark it modified: the kernelspec's display name
  from the kernel's spec ("Python 3 (ipykernel)"), language_info from the
  kernel, nbformat 4.5 with cell ids, and nbformat's own JSON layout; no
  per-cell execution timings.

A cell that raises stops that notebook, which is left as it was; the others
are still stored, and the exit status is 1 with the notebook and cell named.
A notebook is written to a temporary file beside it, then moved over it.
--check runs nothing: it lists what is not normalized and exits 1 if anything is.
"""
import argparse
import base64
import copy
import os
import pathlib
import re
import sys
import tempfile

import nbformat
from nbformat.corpus.words import generate_corpus_id

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# tqdm's bar as text: "[desc: ] 42%|####      | 5/12 [...]"
PROGRESS_BAR = re.compile(r"\d{1,3}%\|[^|\n]*\|\s*[\d.]+\w?/")
EXPLORER_CALL = "ReceptiveFieldExplorer("
RUN_TO_USE = "*Run this cell to use the explorer; until then, this is a picture of it.*"
# What JupyterLab 4 writes for ipykernel's python3 kernel (its kernel.json), and the
# language_info keys it copies from the kernel's info reply.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO_KEYS = {"codemirror_mode", "file_extension", "mimetype", "name", "nbconvert_exporter",
                      "pygments_lexer", "version"}
# Runs in the notebook's kernel right after the explorer's cell, without a history entry:
# shows the picture of the explorer that cell made (its result, else the last one created).
SNAPSHOT_CODE = """\
from IPython.display import Image as _Image, display as _display
from cnnlib.widgets import ReceptiveFieldExplorer as _Explorer
_made = _ if isinstance(_, _Explorer) else [v for v in list(globals().values()) if isinstance(v, _Explorer)][-1]
if hasattr(_made, "snapshot_png"):
    _display(_Image(_made.snapshot_png()))
else:
    print("no snapshot_png")
"""


class CellError(RuntimeError):
    """A cell raised while the notebook ran; the message names the notebook and the cell."""


# What is stored ------------------------------------------------------------------

def source(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def is_progress_bar(output):
    """A tqdm bar as stored: a widget view whose text form is the bar."""
    data = output.get("data", {})
    text = data.get("text/plain", "")
    text = text if isinstance(text, str) else "".join(text)
    return WIDGET_VIEW in data and bool(PROGRESS_BAR.search(text))


def is_explorer_cell(cell):
    return cell["cell_type"] == "code" and EXPLORER_CALL in source(cell)


def explorer_outputs(png):
    """The explorer's stored output: its picture, and a line saying to run the cell."""
    return [
        nbformat.v4.new_output("display_data", data={
            "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": "<the receptive-field explorer, as a picture>"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": RUN_TO_USE,
                                                     "text/plain": RUN_TO_USE.strip("*")}),
    ]


def normalize(nb, kernelspec=None, explorer_png=None):
    """A copy of nb as it is stored (see the module's docstring).

    kernelspec: the dict JupyterLab writes (default KERNELSPEC). explorer_png: the
    explorer's picture as PNG bytes, or None to leave its cell's outputs alone.
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(kernelspec or KERNELSPEC)
    nb.nbformat, nb.nbformat_minor = 4, max(nb.nbformat_minor, 5)
    for cell in nb.cells:
        if "id" not in cell:
            cell["id"] = generate_corpus_id()
        cell.metadata.pop("execution", None)  # nbclient's timings; JupyterLab does not record them by default
        if cell["cell_type"] != "code":
            continue
        cell.outputs = [output for output in cell.outputs if not is_progress_bar(output)]
        if explorer_png is not None and is_explorer_cell(cell):
            cell.outputs = explorer_outputs(explorer_png)
    return nb


def text_as_jupyterlab_saves(nb):
    """The file's text as JupyterLab (jupyter_server through nbformat) writes it."""
    return nbformat.writes(nb) + "\n"


def problems(nb, text=None, kernelspec=None, explorer=True):
    """What keeps nb (and its file's text, if given) from being stored as it should be; [] if nothing.

    explorer=False: the explorer's cell is not looked at (no picture of it could be made).
    """
    found = []
    if "widgets" in nb.metadata:
        found.append("widget state in the notebook's metadata")
    expected = dict(kernelspec or KERNELSPEC)
    if nb.metadata.get("kernelspec") != expected:
        found.append(f"kernelspec {nb.metadata.get('kernelspec')} (JupyterLab writes {expected})")
    language = nb.metadata.get("language_info", {})
    if not LANGUAGE_INFO_KEYS <= set(language):
        found.append(f"language_info lacks {sorted(LANGUAGE_INFO_KEYS - set(language))} (the kernel's info reply)")
    if (nb.nbformat, nb.nbformat_minor) < (4, 5) or any("id" not in cell for cell in nb.cells):
        found.append(f"nbformat {nb.nbformat}.{nb.nbformat_minor} or cells without ids (JupyterLab 4: 4.5, ids)")
    code = [cell for cell in nb.cells if cell["cell_type"] == "code"]
    counts = [cell.get("execution_count") for cell in code]
    if counts != list(range(1, len(code) + 1)):
        first = next(i for i, count in enumerate(counts, 1) if count != i)
        found.append(f"execution counts are not one run from 1 to {len(code)}: code cell {first} has "
                     f"{counts[first - 1]}")
    timed = [number for number, cell in enumerate(nb.cells, 1) if "execution" in cell.metadata]
    if timed:
        found.append(f"execution timings in the metadata of {len(timed)} cells (first: cell {timed[0]})")
    for number, cell in enumerate(nb.cells, 1):
        where = f"cell {number}"
        if not explorer and is_explorer_cell(cell):
            continue
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                found.append(f"{where}: an error output ({output.get('ename')})")
            elif is_progress_bar(output):
                found.append(f"{where}: a stored progress bar")
            elif WIDGET_VIEW in output.get("data", {}):
                found.append(f"{where}: a widget view, which shows as text until the cell runs")
        if is_explorer_cell(cell):
            kinds = [set(output.get("data", {})) for output in cell.outputs]
            if not (len(kinds) == 2 and "image/png" in kinds[0] and "text/markdown" in kinds[1]):
                found.append(f"{where}: the explorer's output is not its picture and the line to run it")
    if text is not None and text != text_as_jupyterlab_saves(nb):
        found.append("the file's JSON layout differs from what JupyterLab writes (nbformat.writes)")
    return found


# Running -------------------------------------------------------------------------

def kernelspec_of(name):
    """The kernelspec entry JupyterLab writes for kernel `name` on this machine."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return dict(KERNELSPEC)
    return {"display_name": spec.display_name, "language": spec.language, "name": name}


def execute(path, results, timeout):
    """Run the notebook at path in a fresh kernel. Returns (notebook, explorer PNG or None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    env = dict(os.environ, CNNLIB_MODE="quick", CNNLIB_RESULTS=str(results))
    png, count = None, 0
    with client.setup_kernel(env=env):
        reply = client.wait_for_reply(client.kc.kernel_info())
        nb.metadata["language_info"] = reply["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            if cell["cell_type"] != "code":
                continue
            count += 1
            try:
                client.execute_cell(cell, index, execution_count=count)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
                raise CellError(f"{path.name}: cell {index + 1} (code cell {count}, id {cell.get('id')}) "
                                f"raised:\n{error}") from None
            if is_explorer_cell(cell):
                png = snapshot(client, path)
    return nb, png


def snapshot(client, path):
    """The explorer's picture from the kernel, or None (with a warning) when there is none."""
    probe = nbformat.v4.new_code_cell(SNAPSHOT_CODE)
    client.nb.cells.append(probe)  # nbclient puts the cell it ran at its index: a slot of its own
    try:
        client.execute_cell(probe, len(client.nb.cells) - 1, store_history=False)
    finally:
        client.nb.cells.pop()
    for output in probe.outputs:
        if "image/png" in output.get("data", {}):
            return base64.b64decode(output["data"]["image/png"])
    print(f"warning: {path.name}: no picture of the explorer (ReceptiveFieldExplorer.snapshot_png missing?); "
          "its cell keeps its output", file=sys.stderr)
    return None


def write_atomically(path, text):
    """Write text to a temporary file beside path, then move it over path."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".ipynb.tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def store(path, results, timeout):
    nb, png = execute(path, results, timeout)
    kernelspec = kernelspec_of(nb.metadata.get("kernelspec", {}).get("name", "python3"))
    nb = normalize(nb, kernelspec, png)
    text = text_as_jupyterlab_saves(nb)
    left = problems(nb, text, kernelspec, explorer=png is not None)
    if left:
        raise CellError(f"{path.name}: ran, but is not normalized: {'; '.join(left)}")
    write_atomically(path, text)


def check(path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    kernelspec = kernelspec_of(nb.metadata.get("kernelspec", {}).get("name", "python3"))
    return problems(nb, path.read_text(encoding="utf-8"), kernelspec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path,
                        help="notebooks to store (default: every notebook in notebooks/)")
    parser.add_argument("--check", action="store_true", help="run nothing; report what is not normalized")
    parser.add_argument("--results", type=pathlib.Path,
                        help="where the notebooks record their results (default: a temporary folder)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one cell may run (default 1800)")
    parser.add_argument("--publish", action="store_true",
                        help="after a clean run of every notebook, publish its records and claim checks as the "
                             "shipped quick references (cnnlib/references/quick-cpu.json, claims/quick-cpu.json)")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOKS.glob("*.ipynb"))

    failed = []
    if args.check:
        for path in paths:
            for problem in check(path):
                failed.append(f"{path.name}: {problem}")
        print("\n".join(failed) if failed else f"{len(paths)} notebooks are stored as JupyterLab saves them")
        return 1 if failed else 0

    with tempfile.TemporaryDirectory(prefix="cnnlib-store-results-") as scratch:
        results = args.results.resolve() if args.results else pathlib.Path(scratch)
        for path in paths:
            print(f"running {path.name} ...", flush=True)
            try:
                store(path, results, args.timeout)
            except CellError as error:
                failed.append(str(error))
                print(f"FAILED {error}", file=sys.stderr, flush=True)
            else:
                print(f"stored {path.name}", flush=True)
        if args.publish and not failed:
            sys.path.insert(0, str(ROOT))
            from cnnlib import results as results_module

            for written in results_module.publish("quick", "cpu", results / "quick-cpu"):
                print(f"published {written.relative_to(ROOT)}")
    if failed:
        print(f"\n{len(failed)} of {len(paths)} notebooks not stored:", file=sys.stderr)
        for message in failed:
            print(f"  {message.splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
