"""The CPU reference: the notebooks' experiments on the 50,000 + 10,000 CIFAR-10 images, on a CPU.

    python scripts/cpu_references.py --data PATH/TO/cifar10-jpeg             # every notebook below
    python scripts/cpu_references.py --data PATH/TO/cifar10-jpeg 05_resnet   # one
    python scripts/cpu_references.py --publish                               # ship what is recorded

Some claims need more images or steps than a quick run on a CPU has (which
ones, and why, each notebook says). For those the same notebook runs top to
bottom in a fresh kernel (nbclient) with the original CIFAR-10 and the
settings below (SETTINGS: assignments that follow its parameters cell), its
records and checkpoints in a folder that persists (default
~/.cache/cnnlib/cpu-reference, or --results). Every training saves its state
after each epoch, so a stopped or killed reference continues where it left off
when the command runs again (the cells before it take seconds). Each
notebook's claim check is recorded with the setting it ran at and its time;
--publish merges the records and claim checks into cnnlib/references/
(label "cpu-reference"), from where every learner's claim check shows them
beside its own rows. The executed notebooks are kept in the folder, to read.
"""
import argparse
import json
import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LABEL = "cpu-reference"

# Per notebook: the parameters that differ from its quick run, and why the reference needs them.
SETTINGS = {}


def default_folder():
    from cnnlib import config

    return config.data_folder() / LABEL


def setting_text(notebook, data):
    changes = ", ".join(f"{k}={v!r}" for k, v in SETTINGS[notebook]["parameters"].items())
    return f"CIFAR-10's 50,000 + 10,000 images ({pathlib.Path(data).name}); {changes}"


def run(notebook, data, folder, timeout):
    """Execute one notebook at its reference setting; returns the seconds it took."""
    from cnnlib import results

    path = ROOT / "notebooks" / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    values = {"DATA": str(data), **SETTINGS[notebook]["parameters"]}
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, injected)
    env = dict(os.environ, CNNLIB_MODE="quick", CNNLIB_RESULTS=str(folder), TQDM_MININTERVAL="30")
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env)
    finally:  # what ran is kept to read, also when a cell failed
        (folder / "notebooks").mkdir(parents=True, exist_ok=True)
        (folder / "notebooks" / path.name).write_text(nbformat.writes(nb) + "\n")
    seconds = time.perf_counter() - start
    claims_file = folder / "quick-cpu" / "claims" / f"{notebook}.json"
    entry = json.loads(claims_file.read_text())
    entry.update(setting=setting_text(notebook, data), why=SETTINGS[notebook]["why"], seconds=round(seconds))
    results.write_json(claims_file, entry)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help=f"notebooks to run (default: {', '.join(SETTINGS) or 'none'})")
    parser.add_argument("--data", help="the ImageFolder tree of CIFAR-10 (train/<class>/, test/<class>/)")
    parser.add_argument("--results", type=pathlib.Path, default=None,
                        help="where the runs, checkpoints and claim checks go (default ~/.cache/cnnlib/cpu-reference)")
    parser.add_argument("--publish", action="store_true", help="merge what is recorded into cnnlib/references/")
    parser.add_argument("--timeout", type=int, default=4 * 3600, help="seconds one cell may run")
    args = parser.parse_args(argv)
    folder = (args.results or default_folder()).expanduser().resolve()
    unknown = set(args.notebooks) - set(SETTINGS)
    if unknown:
        parser.error(f"no reference setting for {', '.join(sorted(unknown))}; the notebooks are {', '.join(SETTINGS)}")
    if not args.publish or args.notebooks:
        if not args.data:
            parser.error("--data PATH: the reference trains on the original CIFAR-10")
        for notebook in args.notebooks or list(SETTINGS):
            print(f"{notebook}: {setting_text(notebook, args.data)}", flush=True)
            print(f"{notebook}: done in {run(notebook, args.data, folder, args.timeout) / 60:.1f} minutes", flush=True)
    if args.publish:
        from cnnlib import results

        for path in results.publish("quick", "cpu", folder / "quick-cpu", label=LABEL):
            print(f"published {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
