"""Records of trained runs, and the course's shipped reference results.

A learner's runs (notebooks, the command line, nbval, CI) are recorded in the
user's cache, never in the course's files: one small JSON file per run in
`<results folder>/<mode>-<device>/`, where the results folder is
$CNNLIB_RESULTS, else `results` in the data cache ($CNNLIB_DATA, else
~/.cache/cnnlib). Each file is written whole to a temporary name and then
renamed, so two notebooks recording at once, or a run killed while writing,
never leave a broken or half-written record. A run with no finished epoch is
not recorded, and an interrupted run never replaces a finished one.

A notebook's claim check is recorded too (`record_claims`, in claims/ beside
the runs): each row's claim, what was measured and its verdict.

The reference results that ship with the course are read-only JSON files
inside the package, so an installed copy on Colab has them too; only
`publish` (a maintainer's command) writes them:

    cnnlib/references/<label>.json          runs: {name: record}
    cnnlib/references/claims/<label>.json   claim checks: {notebook: {..., "rows": [...]}}

where the label is <mode>-<device> ("quick-cpu": the stored notebooks' clean
run; "full-nvidia-h100-80gb-hbm3": a GPU's full mode) or "cpu-reference": the
notebooks run on the 50,000 + 10,000 images of CIFAR-10 on a CPU, at the
settings of scripts/cpu_references.py, for the claims quick mode cannot decide.
"""
import datetime
import hashlib
import json
import os
import pathlib
import re

import torch

from . import __version__, arith, config
from .modules import device_of

RESULTS_VARIABLE = config.RESULTS_VARIABLE
REFERENCES = pathlib.Path(__file__).resolve().parent / "references"


def results_folder():
    """Where a learner's records go: $CNNLIB_RESULTS, else the cache's results folder."""
    if os.environ.get(RESULTS_VARIABLE):
        return pathlib.Path(os.environ[RESULTS_VARIABLE]).expanduser()
    return config.data_folder() / "results"


def device_slug(device=None):
    """'cpu', or the GPU's name in lower case with dashes (e.g. 'nvidia-h100-80gb-hbm3')."""
    device = config.get_device(device)
    if device.type != "cuda":
        return "cpu"
    return re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(device).lower()).strip("-")


def records_folder(mode, device=None):
    return results_folder() / f"{mode}-{device_slug(device)}"


def _file_stem(name):
    stem = re.sub(r"[^A-Za-z0-9._=,+-]+", "_", name).strip("_")
    if stem != name:  # two names that differ only in replaced characters must not share a file
        stem += "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return stem


def _file_name(name):
    return _file_stem(name) + ".json"


def checkpoint_file(name, mode, device=None):
    """Where the run recorded as `name` keeps its checkpoint: beside the records, in checkpoints/."""
    return records_folder(mode, device) / "checkpoints" / (_file_stem(name) + ".pt")


def environment(device):
    """The software and hardware a run used, for its record."""
    device = torch.device(device)
    found = {"torch": torch.__version__, "cnnlib": __version__, "device": config.device_name(device)}
    try:
        import torchvision

        found["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    if device.type == "cuda":
        found.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                     capability=".".join(map(str, torch.cuda.get_device_capability(device))))
    return found


def record(recipe, model, history, seed=0, notebook=None):
    """Record a trained run of `recipe` (a cnnlib.recipes.Recipe) and return the record.

    The record's name is recipe.record_name(seed): the recipe's own name for
    its standard settings, a distinct name for any change. Parameters and
    multiply-adds (one 32x32 image) are counted here from the model.
    Returns None, recording nothing, when no epoch finished, or when the run
    was interrupted and a finished record of the same name exists.
    """
    name = recipe.record_name(seed)
    if len(history) == 0:
        print(f"{name}: not recorded (no epoch finished)")
        return None
    device = device_of(model)
    path = records_folder(recipe.mode, device) / _file_name(name)
    if not history.finished:
        existing = load_record(path) if path.exists() else None
        if existing is not None and existing.get("finished"):
            print(f"{name}: this run stopped early, so the finished record of {existing['epochs']} epochs "
                  f"({existing['recorded']}) is kept")
            return None
    final = history.final
    entry = {
        "name": name,
        "recipe_name": recipe.name,
        "model": recipe.model,
        "recipe": recipe.to_dict(),
        "seed": seed,
        "parameters": arith.count_parameters(model),
        "multiply_adds": arith.parameter_table(model, (3, 32, 32)).total_multiply_adds,
        "test_acc": final["test_acc"],
        "train_acc": final["train_acc"],
        "train_images": history.meta.get("train_images"),
        "test_images": history.meta.get("test_images"),
        "train_score": history.meta.get("train_score"),
        "epochs": len(history),
        "train_seconds": round(history.train_seconds, 2),
        "eval_seconds": round(sum(history.eval_seconds), 2),
        "images_per_second": round(final["images_per_second"], 1),
        "mode": recipe.mode,
        "data": history.meta.get("data"),
        "notebook": notebook,
        "finished": history.finished,
        "interrupted": history.interrupted,
        "diverged": history.diverged,
        "history": {k: getattr(history, k) for k in ("train_loss", "train_acc", "test_loss", "test_acc")},
        "environment": environment(device),
        "recorded": datetime.date.today().isoformat(),
    }
    if path.exists() and not history.interrupted:
        existing = load_record(path)
        if existing.get("finished") and all(existing.get(k) == entry[k] for k in ("recipe", "seed", "history")):
            return existing  # the same run, loaded from its checkpoint: its record stays as it was
    write_json(path, entry)
    return entry


def write_json(path, value):
    """Write `value` as JSON to `path` atomically: a temporary file in the same folder, then a rename."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{id(value)}.partial")
    try:
        temporary.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_record(path):
    path = pathlib.Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a valid record ({error}); delete it and run again") from error


def load(mode=None, device=None):
    """The learner's records of one mode and device: {name: record}. Empty if none yet."""
    folder = records_folder(config.get_mode(mode), device)
    return _load_folder(folder)


def _load_folder(folder):
    records = {}
    for path in sorted(pathlib.Path(folder).glob("*.json")):
        entry = load_record(path)
        records[entry["name"]] = entry
    return records


def load_all():
    """Every mode and device the learner has records for: {"quick-cpu": {name: record}, ...}."""
    folder = results_folder()
    if not folder.is_dir():
        return {}
    return {sub.name: _load_folder(sub) for sub in sorted(folder.iterdir()) if sub.is_dir()}


# ---------------------------------------------------------------- shipped references

def references(mode=None):
    """The shipped reference records: {"full-nvidia-h100-80gb-hbm3": {name: record}, ...},
    only those of `mode` (a mode, or a whole label such as "cpu-reference") when it is given."""
    found = {}
    for path in sorted(REFERENCES.glob("*.json")):
        if mode is None or path.stem == mode or path.stem.startswith(f"{mode}-"):
            found[path.stem] = load_record(path)
    return found


def reference(name, mode="full"):
    """The most recently recorded shipped reference for the run `name` in `mode`, or None."""
    candidates = [records[name] for records in references(mode).values() if name in records]
    return max(candidates, key=lambda r: r.get("recorded", ""), default=None)


def describe_reference(name, mode="full"):
    """One line for showing a shipped reference beside a learner's run, or a line saying there is none."""
    ref = reference(name, mode)
    if ref is None:
        return f"{name}: no {mode}-mode reference recorded yet"
    return (f"{name}: {ref['test_acc']:.1%} test accuracy after {ref['epochs']} epochs, recorded in {mode} mode "
            f"on {ref['environment']['device']} on {ref['recorded']} (shipped reference, not measured now)")


def _without_machine_paths(record):
    """A record as shipped: an ImageFolder source keeps its folder's name, not where it lay on
    the machine that trained it ("ImageFolder /tmp/x/cifar10-jpeg" -> "ImageFolder cifar10-jpeg")."""
    data = record.get("data") or ""
    if data.startswith("ImageFolder "):
        record = {**record, "data": "ImageFolder " + pathlib.PurePath(data[len("ImageFolder "):]).name}
    return record


def publish(mode, device_slug_, folder=None, label=None):
    """Merge the records of `<results folder>/<mode>-<device>` (or `folder`) into the shipped
    reference file cnnlib/references/<label>.json (default label: <mode>-<device>), and its
    recorded claim checks into references/claims/<label>.json (a maintainer's step, never
    run by notebooks). Returns the files written."""
    folder = pathlib.Path(folder) if folder else results_folder() / f"{mode}-{device_slug_}"
    label = label or f"{mode}-{device_slug_}"
    new = {name: _without_machine_paths(record) for name, record in _load_folder(folder).items()}
    checks = {path.stem: load_record(path) for path in sorted((folder / "claims").glob("*.json"))}
    if not new and not checks:
        raise ValueError(f"no records or claim checks in {folder} to publish")
    written = []
    for target, found in ((REFERENCES / f"{label}.json", new), (REFERENCES / "claims" / f"{label}.json", checks)):
        if found:
            merged = load_record(target) if target.exists() else {}
            merged.update(found)
            write_json(target, merged)
            written.append(target)
    return written


# ---------------------------------------------------------------- claim checks

def record_claims(notebook, rows, mode=None, device=None):
    """Record a notebook's claim-check rows (dicts of claim, kind, aspect, measured, verdict, ...)
    in the learner's results folder; returns the file. scripts/cpu_references.py adds the setting."""
    mode = config.get_mode(mode, warn=False)
    device = config.get_device(device)
    entry = {"notebook": notebook, "mode": mode, "environment": environment(device),
             "recorded": datetime.date.today().isoformat(), "rows": list(rows)}
    path = records_folder(mode, device) / "claims" / f"{notebook}.json"
    write_json(path, entry)
    return path


def claim_references(label):
    """The shipped claim checks recorded under `label`: {notebook: entry}; empty if none."""
    path = REFERENCES / "claims" / f"{label}.json"
    return load_record(path) if path.exists() else {}


def describe_claim(claim_id, aspect="", label="cpu-reference", notebook=None):
    """One line with the shipped reference's row for this claim (and aspect), labelled as
    recorded; "" when no check of that notebook (or of any notebook) is shipped under `label`."""
    entries = claim_references(label)
    if notebook is not None:
        entries = {notebook: entries[notebook]} if notebook in entries else {}
    for entry in entries.values():
        for row in entry["rows"]:
            if row["claim"] == claim_id and row.get("aspect", "") == aspect:
                setting = f"; {entry['setting']}" if entry.get("setting") else ""
                detail = f": {row['detail']}" if row.get("detail") else ""
                return (f"{row['verdict']} · {row['verdict_korean']}{detail} ({row['measured']}) [{label}, recorded "
                        f"on {entry['environment']['device']} on {entry['recorded']}{setting}; not measured now]")
    if entries:
        return f"no {label} row for {claim_id} ({label} recorded without it)"
    return ""
