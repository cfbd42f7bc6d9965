#!/usr/bin/env python3
"""Does the course install and run on Colab's or on Kaggle's package versions?

    python scripts/check_platform.py --platform colab|kaggle [--python PATH] [--work DIR] [--keep]

A fresh virtual environment with the platform's Python gets the platform's preinstalled
packages (PLATFORMS below), then the course is installed as a learner installs it: not
editable, from a clean clone of this repository at HEAD (what the notebooks' install cell
does from GitHub). It fails unless that install added cnnlib and changed nothing else.
Then notebooks 00, 03 and 05 of the clone run with nbclient on a kernel of that environment
(quick mode, results and data in temporary folders), and it fails on an error or on a warning
in any output; the receptive-field explorer is also built outside a kernel. Exit status 0 or 1.

Needs git and the network (PyPI). Standard library only; nbclient runs inside the new
environment. Rerun by hand when a platform moves (CI has one environment): tests/test_install.py
only checks the requirements against the same versions.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ["00_start_here", "03_vgg", "05_resnet"]
MARKER = ".check_platform"  # marks a --work folder as this script's, so that a rerun may replace it

# What each platform has preinstalled (GPU runtime), as `pip freeze` shows it there.
# torch/torchvision come from PyPI here (its default CUDA build, which runs on a CPU), not +cu128.
PLATFORMS = {
    "colab": {
        "source": "googlecolab/backend-info commit a724079 (2026-08-19, 'Upgrade to Python 3.13'): "
                  "pip-freeze.gpu.txt, os-info-gpu.txt",
        "python": "3.13", "python_there": "3.13.15",
        "pip": "24.1.2",
        "packages": {
            "torch": "2.11.0", "torchvision": "0.26.0", "numpy": "2.1.3", "matplotlib": "3.10.0",
            "pillow": "11.3.0", "tqdm": "4.67.3", "ipywidgets": "7.7.1", "widgetsnbextension": "3.6.10",
            "jupyterlab_widgets": "3.0.16", "ipykernel": "6.17.1", "ipython": "7.34.0",
            "jupyter_client": "7.4.9", "jupyter_core": "5.9.1", "jupyter_server": "2.20.0", "notebook": "6.5.7",
            "tornado": "6.5.7", "pyzmq": "26.2.1", "traitlets": "5.7.1", "nbformat": "5.11.1",
            "nbclient": "0.10.4",
        },
    },
    "kaggle": {
        "source": "Kaggle/docker-python commit 78aaa43 (2026-08-12): the GPU image is FROM Colab's runtime "
                  "release-colab-external-images_20260514-060047_RC00 (Dockerfile.tmpl, python3.12), whose freeze "
                  "is googlecolab/backend-info commit 0f0755b (2026-05-14, Python 3.12.13); on top, "
                  "kaggle_requirements.txt pins ipywidgets==8.1.5 and jupyter_server==2.12.5. "
                  "widgetsnbextension is left to the resolver: Colab's 3.6.10 cannot go with ipywidgets 8.",
        "python": "3.12", "python_there": "3.12.13",
        "pip": "24.1.2",
        "packages": {
            "torch": "2.10.0", "torchvision": "0.25.0", "numpy": "2.0.2", "matplotlib": "3.10.0",
            "pillow": "11.3.0", "tqdm": "4.67.3", "ipywidgets": "8.1.5", "jupyterlab_widgets": "3.0.16",
            "ipykernel": "6.17.1", "ipython": "7.34.0", "jupyter_client": "7.4.9", "jupyter_core": "5.9.1",
            "jupyter_server": "2.12.5", "tornado": "6.5.1", "pyzmq": "26.2.1", "traitlets": "5.7.1",
            "nbformat": "5.10.4", "nbclient": "0.10.4",
        },
    },
}

# Runs inside the new environment: one notebook through nbclient, then a JSON line of what it found.
RUN_NOTEBOOK = r"""
import json, re, sys, time
import nbformat
from nbclient import NotebookClient
source, target, kernel, cwd = sys.argv[1:5]
notebook = nbformat.read(source, as_version=4)
start, error = time.monotonic(), None
try:
    NotebookClient(notebook, kernel_name=kernel, timeout=3600, resources={"metadata": {"path": cwd}}).execute()
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"[-3000:]
seconds = time.monotonic() - start
nbformat.write(notebook, target)
warnings = []
for index, cell in enumerate(notebook.cells):
    where = f"cell {index} ({cell.source.splitlines()[0][:60] if cell.source else ''})"
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            continue  # reported as the error
        if output.output_type == "stream":
            text = output.text
            if output.name == "stderr":
                warnings.append(f"{where}: stderr: {text.strip()[:500]}")
                continue
        else:
            data = output.get("data", {})
            text = "\n".join(str(data[k]) for k in ("text/plain", "text/html", "text/markdown") if k in data)
        for line in text.splitlines():
            if re.search(r"warn", line, re.IGNORECASE):
                warnings.append(f"{where}: {line.strip()[:500]}")
print(json.dumps({"seconds": round(seconds, 1), "error": error, "warnings": warnings}))
"""

# Runs inside the new environment: the explorer built, moved and measured outside a kernel. Every
# warning is caught; other packages' deprecations of their own internals, which a notebook hides
# (it shows a DeprecationWarning only when the learner's code triggers it), are kept apart.
BUILD_EXPLORER = r"""
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import ipywidgets
    from cnnlib.widgets import ReceptiveFieldExplorer
    explorer = ReceptiveFieldExplorer()
    explorer.row.value = explorer.row.max // 2
    explorer.effective.value = True
    explorer.preset.value = list(explorer.preset.options)[0]
import cnnlib
problems = [] if "site-packages" in cnnlib.__file__ else [f"cnnlib imported from {cnnlib.__file__}, not the install"]
if explorer.last_error is not None:
    problems.append(f"last_error: {explorer.last_error!r}")
if explorer.figure is None or not explorer.plot.value:
    problems.append("no figure drawn")
if not isinstance(explorer.widget, ipywidgets.VBox):
    problems.append(f"widget is {type(explorer.widget)}")
shown, hidden = [], []
for w in caught:
    text = f"{w.category.__name__}: {str(w.message).splitlines()[0]} ({w.filename}:{w.lineno})"
    theirs = issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)) and "/cnnlib/" not in w.filename
    (hidden if theirs else shown).append(text)
print(json.dumps({"ipywidgets": ipywidgets.__version__, "problems": problems, "warnings": shown,
                  "hidden": sorted(set(hidden))}))
"""


def run(command, **kwargs):
    print("$", " ".join("<script>" if "\n" in str(c) else str(c) for c in command), flush=True)
    return subprocess.run(list(map(str, command)), check=True, **kwargs)


def last_json_line(command, **kwargs):
    out = run(command, stdout=subprocess.PIPE, text=True, **kwargs).stdout
    return json.loads(out.strip().splitlines()[-1])


def find_python(version):
    """pyenv's newest X.Y.*, else pythonX.Y on PATH."""
    versions = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv")) / "versions"
    found = sorted(versions.glob(f"{version}.*"), key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)])
    found = [p / "bin" / "python" for p in found if (p / "bin" / "python").exists()]
    if found:
        return found[-1]
    on_path = shutil.which(f"python{version}")
    if not on_path:
        sys.exit(f"no Python {version}: pass --python PATH")
    return pathlib.Path(on_path)


def prepare_work(work):
    """A fresh folder: a temporary one, or --work (replaced only if this script made it)."""
    if work is None:
        return pathlib.Path(tempfile.mkdtemp(prefix="check_platform-"))
    work = pathlib.Path(work).resolve()
    if work.exists() and any(work.iterdir()):
        if not (work / MARKER).exists():
            sys.exit(f"{work} is not empty and not made by this script: choose another --work")
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / MARKER).touch()
    return work


def make_venv(python, work):
    """Step 1: a fresh virtual environment with the platform's Python."""
    run([python, "-m", "venv", work / "venv"])
    venv_python = work / "venv" / "bin" / "python"
    version = subprocess.run([venv_python, "-c", "import platform; print(platform.python_version())"],
                             check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return venv_python, version


def pip(venv_python, *args):
    run([venv_python, "-m", "pip", "--disable-pip-version-check", "--no-input", *args])


def install_platform(venv_python, spec):
    """Step 2: the platform's pip, then its preinstalled packages at its versions, in one resolve."""
    pip(venv_python, "install", "--progress-bar", "off", f"pip=={spec['pip']}")
    pip(venv_python, "install", "--progress-bar", "off", *(f"{n}=={v}" for n, v in spec["packages"].items()))


def freeze(venv_python):
    """`pip freeze` as {normalized name: line}."""
    out = subprocess.run([venv_python, "-m", "pip", "--disable-pip-version-check", "freeze"],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    lines = [line for line in out.splitlines() if line and not line.startswith("#")]
    return {re.split(r"[=@ ]", line, maxsplit=1)[0].strip().lower().replace("_", "-"): line for line in lines}


def check_versions(frozen, spec):
    """Each preinstalled package at the platform's version (PyPI's torch has no +cu128)."""
    problems = []
    for name, version in spec["packages"].items():
        line = frozen.get(name.lower().replace("_", "-"), "missing")
        if line.split("==")[-1].split("+")[0] != version:
            problems.append(f"{name}: wanted {version}, have {line}")
    return problems


def install_course(venv_python, work):
    """Step 3: a clean clone at HEAD, installed as the notebooks' install cell does (not editable)."""
    clone = work / "clone"
    run(["git", "clone", "--quiet", ROOT, clone])
    commit = subprocess.run(["git", "-C", clone, "log", "-1", "--format=%h %s"], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    pip(venv_python, "install", "--progress-bar", "off", clone)
    return clone, commit


def compare(before, after):
    """What the course's install did: added, removed and changed freeze lines."""
    added = [after[n] for n in after if n not in before]
    removed = [before[n] for n in before if n not in after]
    changed = [f"{before[n]} -> {after[n]}" for n in before if n in after and before[n] != after[n]]
    return added, removed, changed


def run_notebooks(venv_python, clone, work, platform):
    """Step 4: the clone's notebooks on a kernel of the new environment, quick mode, fresh folders."""
    kernel = f"check-platform-{platform}"
    run([venv_python, "-m", "ipykernel", "install", "--prefix", work / "venv", "--name", kernel,
         "--display-name", kernel], stdout=subprocess.DEVNULL)
    for name in ("results", "data", "executed", "cwd"):
        (work / name).mkdir()
    env = dict(os.environ, CNNLIB_MODE="quick", CNNLIB_RESULTS=str(work / "results"), CNNLIB_DATA=str(work / "data"))
    env.pop("PYTHONPATH", None)
    results = {}
    for name in NOTEBOOKS:
        source = clone / "notebooks" / f"{name}.ipynb"
        target = work / "executed" / f"{name}.ipynb"
        results[name] = last_json_line([venv_python, "-c", RUN_NOTEBOOK, source, target, kernel, work / "cwd"],
                                       env=env, cwd=work / "cwd")
        print(f"{name}: {results[name]['seconds']} s, error: {results[name]['error'] is not None}, "
              f"warnings: {len(results[name]['warnings'])}", flush=True)
    return results


def build_explorer(venv_python, work):
    """Step 4, continued: the receptive-field explorer with the platform's ipywidgets, outside a kernel."""
    env = dict(os.environ, CNNLIB_DATA=str(work / "data"))
    env.pop("PYTHONPATH", None)
    return last_json_line([venv_python, "-c", BUILD_EXPLORER], env=env, cwd=work / "cwd")


def summarize(platform, spec, python_version, commit, before, after, notebooks, explorer):
    """Step 5: what ran, what the install did, what was found; True when all is well."""
    added, removed, changed = compare(before, after)
    failures = [f"platform set: {p}" for p in check_versions(before, spec)]
    if [a.split(" ")[0].split("=")[0] for a in added] != ["cnnlib"] or removed or changed:
        failures.append("the course's install changed more than adding cnnlib")
    print(f"\n=== {platform}: {spec['source']}")
    print(f"Python {python_version} here, {spec['python_there']} there; course at {commit}")
    shown = [*spec["packages"], "widgetsnbextension", "comm"]
    print("installed:", ", ".join(dict.fromkeys(before[n] for n in (n.lower().replace("_", "-") for n in shown)
                                                if n in before)))
    print("the install added:", added or "nothing", "| removed:", removed or "nothing",
          "| changed:", changed or "nothing")
    for name, result in notebooks.items():
        print(f"notebook {name}: {result['seconds']} s, " + ("error" if result["error"] else "ran"))
        if result["error"]:
            print("   ", result["error"].replace("\n", "\n    "))
            failures.append(f"{name}: error")
        for warning in result["warnings"]:
            print("    warning:", warning)
            failures.append(f"{name}: warning")
    print(f"explorer (ipywidgets {explorer['ipywidgets']}):",
          "; ".join(explorer["problems"] + explorer["warnings"]) or "built, moved, drew, no warning")
    failures += [f"explorer: {p}" for p in explorer["problems"] + explorer["warnings"]]
    for warning in explorer["hidden"]:
        print("    not counted (another package's own deprecation, hidden in a notebook):", warning)
    print("RESULT:", "PASS" if not failures else f"FAIL ({len(failures)}: " + "; ".join(failures[:8]) + ")")
    return not failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", required=True, choices=sorted(PLATFORMS))
    parser.add_argument("--python", help="the interpreter for the environment (default: pyenv's X.Y)")
    parser.add_argument("--work", help="folder for the environment, clone and outputs (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the folder afterwards")
    args = parser.parse_args()
    spec = PLATFORMS[args.platform]
    work = prepare_work(args.work)
    print(f"work folder: {work}", flush=True)
    try:
        venv_python, python_version = make_venv(args.python or find_python(spec["python"]), work)
        install_platform(venv_python, spec)
        before = freeze(venv_python)
        (work / "freeze-platform.txt").write_text("\n".join(before.values()) + "\n")
        clone, commit = install_course(venv_python, work)
        after = freeze(venv_python)
        (work / "freeze-course.txt").write_text("\n".join(after.values()) + "\n")
        notebooks = run_notebooks(venv_python, clone, work, args.platform)
        explorer = build_explorer(venv_python, work)
        ok = summarize(args.platform, spec, python_version, commit, before, after, notebooks, explorer)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept: {work} (executed notebooks in executed/, freezes in freeze-*.txt)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
