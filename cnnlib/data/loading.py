"""load_cifar10: CIFAR-10 from torchvision's release, an ImageFolder tree, or the embedded subset."""
import os
import pathlib
import shlex
import zipfile
import zlib

import torch

from .. import config
from ..config import DATA_VARIABLE
from . import download, imagefolder
from .cifar10 import Cifar10, DataError, shown, shuffled

EMBEDDED_ZIP = pathlib.Path(__file__).parent / "embedded" / "cifar10-subset.zip"
SOURCES = ("auto", "torchvision", "embedded", "a path to an ImageFolder tree")
FULL_SET_HINT = (
    "for the full CIFAR-10 run once with a network: cnnlib.data.load_cifar10('torchvision') "
    "(about 170 MB, cached), or pass the path of an ImageFolder tree"
)


def load_cifar10(source=None, root=None, device=None, mode=None, verbose=True):
    """Load CIFAR-10 onto `device` (default: the training device).

    source: "auto", "torchvision", "embedded", or the path of an ImageFolder
    tree. None means "embedded" in quick mode and "auto" in full mode. One
    line says what was loaded, and how to get the full set when it was not.
    """
    if source is None:
        source = "embedded" if config.get_mode(mode) == "quick" else "auto"
    root = pathlib.Path(root) if root is not None else config.data_folder()
    note = None
    if source == "auto":
        try:
            data = _load_torchvision(root, verbose)
        except DataError as error:
            data = _load_embedded()
            note = str(error)
    elif source == "torchvision":
        data = _load_torchvision(root, verbose)
    elif source == "embedded":
        data = _load_embedded()
    else:
        data = imagefolder.load(_folder_path(source), root)
    if verbose:
        line = f"Loaded {data}"
        if data.source.startswith("embedded"):
            line += f". This is the small subset shipped with cnnlib; {FULL_SET_HINT}."
        if note:
            line = f"{line}\n  (auto: {note})"
        print(line)
    return data.to(config.get_device(device))


def _folder_path(source):
    """The ImageFolder tree that `source` names; a bare word that is no folder is an unknown source."""
    sources = ", ".join(SOURCES)
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"unknown data source {source!r}: use one of {sources}")
    path = pathlib.Path(source).expanduser()
    if isinstance(source, str) and "/" not in source and os.sep not in source and not path.exists():
        raise ValueError(f"unknown data source {source!r}: use one of {sources}. "
                         f"As a path it names the folder {shown(path.absolute())}, which does not exist")
    return path


def _load_embedded():
    try:
        with zipfile.ZipFile(EMBEDDED_ZIP) as archive:
            names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
            train, test = imagefolder.decode_named(names, archive.read, EMBEDDED_ZIP)
    # A damaged member fails its CRC (BadZipFile) or its inflation (zlib.error).
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, DataError) as error:
        raise DataError(
            f"the embedded subset {EMBEDDED_ZIP} is missing or damaged ({type(error).__name__}: {error}). "
            f"Reinstall cnnlib to restore it (pip install --force-reinstall --no-deps cnnlib, "
            f"or in a git checkout: git checkout -- cnnlib/data/embedded && pip install -e .)"
        ) from error
    return shuffled(Cifar10(*train, *test, source="embedded subset"))


def _load_torchvision(root, verbose=True):
    import torchvision

    release = torchvision.datasets.CIFAR10  # its URL, file names and MD5s are the release's
    folder = root / release.base_folder
    if not folder.exists():
        _download_original(release, root, verbose)
    try:
        datasets = [release(str(root), train=train, download=False) for train in (True, False)]
    except RuntimeError as error:  # "Dataset not found or corrupted": a file is missing or changed
        raise DataError(_incomplete(release, folder) or f"{folder} could not be read ({error}); "
                        f"{_remove_hint(folder)}") from error
    except Exception as error:  # a truncated pickle raises UnpicklingError, EOFError, ...
        raise DataError(f"{folder} exists but could not be read ({type(error).__name__}: {error}); "
                        f"{_remove_hint(folder)}") from error
    tensors = []
    for dataset in datasets:
        tensors += [torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous(),
                    torch.tensor(dataset.targets, dtype=torch.int64)]
    return Cifar10(*tensors, source="original CIFAR-10 (torchvision)")


def _download_original(release, root, verbose):
    archive = root / release.filename
    try:
        download.fetch(release.url, archive, release.tgz_md5, progress=verbose)
    except download.DownloadError as error:
        raise DataError(
            f"the original CIFAR-10 is not in {root} and could not be downloaded from {release.url}: "
            f"{error}. Connect to the internet and try again, put the Python version of CIFAR-10 "
            f"({release.base_folder}) in {root}, or set ${DATA_VARIABLE} to the folder that holds it"
        ) from error
    try:
        download.extract(archive, release.base_folder, root)
    except download.DownloadError as error:
        raise DataError(f"the download {archive} is complete but could not be unpacked into {root} ({error}); "
                        f"free some disk space there and load again (the archive is kept)") from error


def _incomplete(release, folder):
    """Which of the release's files are missing or changed, and how to start again; None if all are fine."""
    from torchvision.datasets import cifar

    expected = release.train_list + release.test_list + [[release.meta["filename"], release.meta["md5"]]]
    missing = [name for name, _ in expected if not (folder / name).is_file()]
    damaged = [name for name, md5 in expected
               if name not in missing and not cifar.check_integrity(str(folder / name), md5)]
    if not missing and not damaged:
        return None
    problems = [f"missing: {', '.join(missing)}"] if missing else []
    if damaged:
        problems.append(f"damaged (truncated or changed: the MD5 differs from the release's): {', '.join(damaged)}")
    return f"the folder {folder} is incomplete ({'; '.join(problems)}); {_remove_hint(folder)}"


def _remove_hint(folder):
    return (f"remove that folder and load again to get a fresh copy: in Python "
            f"shutil.rmtree({str(folder)!r}), in a shell rm -r {shlex.quote(str(folder))}")
