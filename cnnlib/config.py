"""Mode (quick or full), device, seeds, folders and where the course runs.

quick: the embedded CIFAR-10 subset, small models, a minute per notebook on a CPU.
full:  the original CIFAR-10 on a GPU, budgets that get close to the papers.

The default is full when CUDA is available, else quick; the environment
variable CNNLIB_MODE overrides it.
"""
import os
import pathlib
import random
import sys
import warnings

import torch

MODES = ("quick", "full")
MODE_VARIABLE = "CNNLIB_MODE"
CACHE_VARIABLE = "CNNLIB_DATA"


def get_mode(mode=None, warn=True):
    """The mode to run in: the argument, else $CNNLIB_MODE, else by hardware.
    Warns (unless warn=False) when full mode will run without a GPU."""
    from_environment = mode is None and bool(os.environ.get(MODE_VARIABLE))
    if mode is None:
        mode = os.environ.get(MODE_VARIABLE) or None
    if mode is None:
        return "full" if torch.cuda.is_available() else "quick"
    mode = str(mode).strip().lower()
    if mode not in MODES:
        where = f"${MODE_VARIABLE} is {mode!r}" if from_environment else f"unknown mode {mode!r}"
        raise ValueError(f"{where}: the valid modes are {', '.join(MODES)}")
    if warn and mode == "full" and not torch.cuda.is_available():
        warnings.warn(
            "full mode without a CUDA GPU: this trains on the CPU and can take hours; "
            "use mode='quick' for a CPU run",
            stacklevel=2,
        )
    return mode


def get_device(device=None):
    """The device to train on: the argument, else CUDA when available, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cache_dir():
    """Where downloads, decoded-data caches and a learner's results go:
    $CNNLIB_DATA, else ~/.cache/cnnlib."""
    return pathlib.Path(os.environ.get(CACHE_VARIABLE) or pathlib.Path.home() / ".cache" / "cnnlib")


def seed_everything(seed=0):
    """Seed Python, PyTorch and (if present) NumPy; quick mode on a CPU is then repeatable."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:
        pass
    return seed


def in_colab():
    return "google.colab" in sys.modules


def device_name(device=None):
    device = get_device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores)"


def cpu_threads():
    """How torch uses the CPU here, in one line: its threads and how idle ones wait (see cnnlib/__init__.py)."""
    spin = os.environ.get("GOMP_SPINCOUNT")
    waiting = (f"idle threads spin {spin} times, then sleep, so two trainings share the cores fairly" if spin
               else "OpenMP's default spinning")
    return f"{torch.get_num_threads()} CPU threads; {waiting}"
