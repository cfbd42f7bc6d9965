"""Recorded results of trained models, so later notebooks compare real runs.

Each notebook records what it trained: parameters, multiply-adds, test
accuracy, training time, images per second, mode, device. Records go to one
JSON file per mode and device, e.g. assets/results/quick-cpu.json, in the
course's folder when cnnlib runs from a checkout (else ~/.cache/cnnlib/results,
or $CNNLIB_RESULTS).
"""
import json
import os
import pathlib
import re
import time

from . import config

RESULTS_VARIABLE = "CNNLIB_RESULTS"


def results_dir():
    if os.environ.get(RESULTS_VARIABLE):
        return pathlib.Path(os.environ[RESULTS_VARIABLE])
    checkout = pathlib.Path(__file__).resolve().parent.parent / "assets"
    if checkout.is_dir():
        return checkout / "results"
    return pathlib.Path.home() / ".cache" / "cnnlib" / "results"


def device_slug(device=None):
    """'cpu', or the GPU's name in lower case with dashes (e.g. 'nvidia-h100-80gb-hbm3')."""
    device = config.get_device(device)
    if device.type != "cuda":
        return "cpu"
    import torch

    return re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(device).lower()).strip("-")


def results_file(mode, device=None):
    return results_dir() / f"{mode}-{device_slug(device)}.json"


def record(name, model, history, mode, multiply_adds=None, notebook=None, device=None):
    """Add or replace the record `name` in this mode's and device's results file."""
    final = history.final
    entry = {
        "model": history.meta.get("model", name),
        "parameters": sum(p.numel() for p in model.parameters()),
        "multiply_adds": multiply_adds,
        "test_acc": final.get("test_acc"),
        "train_acc": final.get("train_acc"),
        "epochs": len(history),
        "train_seconds": round(history.train_seconds, 2),
        "images_per_second": round(final.get("images_per_second", 0.0), 1),
        "mode": mode,
        "device": config.device_name(device),
        "data": history.meta.get("data"),
        "notebook": notebook,
        "interrupted": history.interrupted,
        "recorded": time.strftime("%Y-%m-%d"),
    }
    path = results_file(mode, device)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = load_file(path)
    records[name] = entry
    path.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    return entry


def load_file(path):
    path = pathlib.Path(path)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); fix or delete it") from error


def load(mode=None, device=None):
    """The records of one mode and device: {name: record}. Empty if none yet."""
    return load_file(results_file(config.get_mode(mode), device))


def load_all():
    """Every results file in the results folder: {file stem: {name: record}}."""
    folder = results_dir()
    return {p.stem: load_file(p) for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}
