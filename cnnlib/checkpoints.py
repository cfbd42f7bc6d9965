"""Checkpoints: a trained model's weights, its History and metadata in one file.

Saving is atomic (a temporary file, then a rename), so a run killed while
saving leaves the previous checkpoint as it was; metadata is stored as plain
values that load back. Loading uses torch.load(weights_only=True), so a file
cannot run code when read, and a truncated or corrupt file is named as such.
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

class CheckpointError(RuntimeError):
    """A checkpoint file could not be saved or loaded safely; the message names the file."""


def save_checkpoint(path, model, history=None, **metadata):
    """Save weights, History and metadata to `path`, atomically: a run killed
    while saving leaves the previous file as it was.

    Metadata is stored as plain numbers, strings, lists and dicts (what
    weights_only loading accepts); numpy numbers, paths, dates and dataclasses
    are converted, anything else is refused here rather than at loading time.
    """
    path = checkpoint_path(path)
    content = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": _plain(history.to_dict(), "history") if history is not None else None,
        "meta": _plain(metadata, "metadata"),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        torch.save(content, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


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


def _plain(value, where):
    """`value` as types that torch.load(weights_only=True) reads back."""
    if value is None or type(value) in (bool, int, float, str) or isinstance(value, torch.Tensor):
        return value  # exact types: numpy's float64 is a float subclass that would not load back
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (pathlib.PurePath, torch.device, torch.dtype)):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _plain(value.value, where)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value), where)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return _plain(value.tolist(), where)
    for plain in (bool, int, float, str):  # subclasses of the plain types, e.g. an IntEnum's value
        if isinstance(value, plain):
            return plain(value)
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
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"refused to load {path}: it is not a plain checkpoint of tensors and numbers "
            f"(it may contain code that would run when unpickled). Only load checkpoints you "
            f"made with cnnlib.checkpoints.save_checkpoint. Details: {str(error)[:300]}"
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f"{path} is truncated or corrupt and cannot be read ({type(error).__name__}: {str(error)[:120]}); "
            f"it was probably cut off while being written: delete it and train or save again"
        ) from error
    if not isinstance(saved, dict) or "state_dict" not in saved:
        raise CheckpointError(f"{path} is not a cnnlib checkpoint (no state_dict)")
    if saved.get("history") is not None:
        from .train import History  # train imports this module: import back lazily

        saved["history"] = History.from_dict(saved["history"])
    if model is not None:
        model.load_state_dict(saved["state_dict"])
    return saved
