"""Checkpoints: a model's weights, its History and metadata in one file, and
for a run in progress everything it needs to continue exactly (see cnnlib.train.fit).

Saving is atomic (a temporary file, then a rename), so a run killed while
saving leaves the previous checkpoint as it was; a training checkpoint also
keeps the one before it (`previous_path`), and `load_latest` falls back to it
when the newer file is damaged. Metadata is stored as plain values that load
back. Loading uses torch.load(weights_only=True), so a file cannot run code
when read, and a truncated or corrupt file is named as such.
"""
import dataclasses
import datetime
import enum
import os
import pathlib
import pickle
import zipfile
from dataclasses import asdict

import torch

from .history import History


class CheckpointError(RuntimeError):
    """A checkpoint file could not be saved or loaded safely; the message names the file."""


class DamagedCheckpoint(CheckpointError):
    """A checkpoint file is truncated or corrupt (cut off while being written, say)."""


def save_checkpoint(path, model, history=None, training=None, keep_previous=False, **metadata):
    """Save weights, History and metadata to `path`, atomically: a run killed
    while saving leaves the previous file as it was.

    training: the state a run needs to continue (optimizer, RNG, progress; see
    cnnlib.train). keep_previous: move the file already at `path` to
    previous_path(path) first, so that a damaged newer file still has one to fall back to.
    Metadata is stored as plain numbers, strings, lists and dicts (what
    weights_only loading accepts); numpy numbers, paths, dates and dataclasses
    are converted, anything else is refused here rather than at loading time.
    """
    path = checkpoint_path(path)
    content = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": plain(history.to_dict(), "history") if history is not None else None,
        "meta": plain(metadata, "metadata"),
    }
    if training is not None:
        content["training"] = plain(training, "training")
    _remove_abandoned_partials(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        torch.save(content, temporary)
        if keep_previous and path.exists():
            # Killed between these two renames, `path` is missing and load_latest reads the previous file.
            os.replace(path, previous_path(path))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def previous_path(path):
    """Where the checkpoint before the newest one is kept: model.pt -> model.previous.pt."""
    path = pathlib.Path(path)
    return path.with_name(f"{path.stem}.previous{path.suffix}")


def _remove_abandoned_partials(path):
    """Temporary files of processes killed while saving (a live process's own are left alone)."""
    for partial in path.parent.glob(f".{path.name}.*.partial"):
        try:
            pid = int(partial.name.split(".")[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            partial.unlink(missing_ok=True)
        except (ValueError, PermissionError, OSError):
            pass


def checkpoint_path(path):
    """The checkpoint's path, its folder created; fails before training, not after it."""
    path = pathlib.Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CheckpointError(f"cannot create the folder {path.parent} for the checkpoint {path}: {error}") from error
    if path.is_dir():
        raise CheckpointError(f"checkpoint path {path} is a folder; give a file name such as {path / 'model.pt'}")
    if not os.access(path.parent, os.W_OK):
        raise CheckpointError(f"cannot write the checkpoint {path}: the folder {path.parent} is not writable")
    return path


def plain(value, where="value"):
    """`value` as types that torch.load(weights_only=True) reads back."""
    if value is None or type(value) in (bool, int, float, str) or isinstance(value, torch.Tensor):
        return value  # exact types: numpy's float64 is a float subclass that would not load back
    if isinstance(value, dict):
        return {k if type(k) in (int, str) else str(k): plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (pathlib.PurePath, torch.device, torch.dtype)):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value, where)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value), where)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return plain(value.tolist(), where)
    for kind in (bool, int, float, str):  # subclasses of the plain types, e.g. an IntEnum's value
        if isinstance(value, kind):
            return kind(value)
    raise CheckpointError(f"cannot store {where} in a checkpoint: a {type(value).__name__} would not load back "
                          f"safely; pass plain numbers, strings, lists or dicts")


def load_checkpoint(path, model=None):
    """Load a checkpoint with weights_only=True, so a file cannot run code when read.

    Returns a dict with "state_dict", "history" (a History or None) and "meta";
    when `model` is given its weights are loaded into it.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    damaged = (f"{path} is truncated or corrupt and cannot be read ({{}}); it was probably cut off while being "
               f"written: delete it and train or save again")
    if not zipfile.is_zipfile(path):  # torch.save has written zip files since PyTorch 1.6
        raise DamagedCheckpoint(damaged.format("not a whole zip file"))
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"refused to load {path}: it is not a plain checkpoint of tensors and numbers "
            f"(it may contain code that would run when unpickled). Only load checkpoints you "
            f"made with cnnlib.train.checkpoints.save_checkpoint. Details: {str(error)[:300]}"
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise DamagedCheckpoint(damaged.format(f"{type(error).__name__}: {str(error)[:120]}")) from error
    if not isinstance(saved, dict) or "state_dict" not in saved:
        raise CheckpointError(f"{path} is not a cnnlib checkpoint (no state_dict)")
    if saved.get("history") is not None:
        saved["history"] = History.from_dict(saved["history"])
    if model is not None:
        try:
            model.load_state_dict(saved["state_dict"])
        except RuntimeError as error:
            raise CheckpointError(f"{path} does not fit this {type(model).__name__}: its weights are those of "
                                  f"another model or another setting ({str(error)[:300]})") from error
    saved["path"] = path
    return saved


def load_latest(path, model=None, say=print):
    """The newest readable checkpoint of a run: `path`, or previous_path(path) when
    `path` is missing or damaged (said in one line). None when neither exists."""
    path = pathlib.Path(path)
    previous = previous_path(path)
    if path.exists():
        try:
            return load_checkpoint(path, model)
        except DamagedCheckpoint as error:
            if not previous.exists():
                raise
            say(f"{path} is damaged ({str(error).split(';')[0]}); using the previous checkpoint, {previous.name}")
    if previous.exists():
        return load_checkpoint(previous, model)
    return None


# ---------------------------------------------------------------- what a run needs to continue

def random_state(device, generator=None):
    """Every random stream a training draws from: torch's (dropout, and the batches'
    crops and order when they have no generator of their own), the GPU's, the batches'."""
    device = torch.device(device)
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    if generator is not None:
        state["batches"] = generator.get_state()
    return state


def restore_random_state(state, device, generator=None):
    device = torch.device(device)
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
    if generator is not None and "batches" in state:
        generator.set_state(state["batches"])


def differences(saved, current, prefix=""):
    """The settings that differ between a checkpoint and this run, as "name: checkpoint x, now y"."""
    found = []
    for key in sorted(set(saved) | set(current)):
        name = f"{prefix}{key}"
        old, new = saved.get(key, "(not set)"), current.get(key, "(not set)")
        if isinstance(old, dict) and isinstance(new, dict):
            found += differences(old, new, prefix=f"{name}.")
        elif old != new:
            found.append(f"{name}: checkpoint {old!r}, now {new!r}")
    return found
