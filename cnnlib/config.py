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
DATA_VARIABLE = "CNNLIB_DATA"
RESULTS_VARIABLE = "CNNLIB_RESULTS"


def get_mode(mode=None, warn=True):
    """The mode to run in: the argument, else $CNNLIB_MODE, else by hardware.
    Warns (unless warn=False) when full mode will run without a GPU."""
    from_environment = mode is None and bool(os.environ.get(MODE_VARIABLE))
    if mode is None:
        mode = os.environ.get(MODE_VARIABLE) or None
    if mode is None:
        return "full" if cuda_usable() else "quick"
    mode = str(mode).strip().lower()
    if mode not in MODES:
        where = f"${MODE_VARIABLE} is {mode!r}" if from_environment else f"unknown mode {mode!r}"
        raise ValueError(f"{where}: the valid modes are {', '.join(MODES)}")
    if warn and mode == "full" and not cuda_usable():
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
    return torch.device("cuda" if cuda_usable() else "cpu")


def cuda_usable():
    """A CUDA GPU is present and the installed PyTorch was built for it.

    torch.cuda.is_available() says True for a GPU the build has no kernels for
    (Kaggle's P100, compute capability 6.0, is absent from current builds'
    torch.cuda.get_arch_list()); its first operation then fails. Such a GPU is
    named once, with what to choose instead, and the course uses the CPU.
    """
    if not torch.cuda.is_available():
        return False
    major, minor = torch.cuda.get_device_capability(0)
    architectures = torch.cuda.get_arch_list()
    if runs_on(major, minor, architectures):
        return True
    if not _unusable_gpu_told:
        _unusable_gpu_told.append(True)
        warnings.warn(
            f"the GPU {torch.cuda.get_device_name(0)} (compute capability {major}.{minor}) cannot run this "
            f"PyTorch {torch.__version__}, which was built for {', '.join(architectures) or 'no GPU'}: the course "
            f"runs on the CPU instead (quick mode). On Kaggle, choose 'GPU T4 x2' as the accelerator in the "
            f"notebook's settings; elsewhere, a GPU of a listed compute capability, or a PyTorch built for this one.",
            stacklevel=2)
    return False


_unusable_gpu_told = []


def runs_on(major, minor, architectures):
    """Whether a build for `architectures` (torch.cuda.get_arch_list(): 'sm_75', 'compute_90', ...)
    runs on a GPU of compute capability major.minor: a kernel for the same major version and an
    equal or lower minor one (binary compatible), or PTX for an equal or lower capability (compiled
    when loaded)."""
    for architecture in architectures:
        kind, _, number = architecture.partition("_")
        digits = "".join(c for c in number if c.isdigit())
        if len(digits) < 2:
            continue
        built = (int(digits[:-1]), int(digits[-1]))
        if kind == "sm" and built[0] == major and built[1] <= minor:
            return True
        if kind == "compute" and built <= (major, minor):
            return True
    return False


def data_folder():
    """The data folder: downloads, decoded-data caches and (in results/) a learner's records;
    $CNNLIB_DATA, else ~/.cache/cnnlib."""
    return pathlib.Path(os.environ.get(DATA_VARIABLE) or pathlib.Path.home() / ".cache" / "cnnlib")


def shown(path):
    """A path as a notebook's output shows it: under $CNNLIB_RESULTS or $CNNLIB_DATA by that
    variable's name, under the home folder with ~ (no machine's temporary folder in a stored notebook)."""
    path = pathlib.Path(path)
    for variable in (RESULTS_VARIABLE, DATA_VARIABLE):
        if os.environ.get(variable):
            base = pathlib.Path(os.environ[variable]).expanduser()
            if path.is_relative_to(base):
                return str(pathlib.PurePosixPath(f"${variable}", *path.relative_to(base).parts))
    home = pathlib.Path.home()
    return f"~/{path.relative_to(home).as_posix()}" if path.is_relative_to(home) else str(path)


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
