"""CIFAR-10 as uint8 tensors on the training device, and batches made there.

Three sources of the same ten classes:

- "torchvision": the original CIFAR-10 release as torchvision describes it,
  downloaded once (cnnlib.download: every wait bounded, the archive checked
  against its MD5) into the data folder (default ~/.cache/cnnlib, or
  $CNNLIB_DATA, or `root=`);
- a path: any ImageFolder tree, train/<class>/*.jpg and test/<class>/*.jpg;
- "embedded": 4,000 real CIFAR-10 images shipped inside cnnlib, for offline
  use and tests.

"auto" takes the original set when it is on disk or can be downloaded, and the
embedded subset otherwise. Images are decoded once (and a folder's decoded
tensors cached), then the whole split lives on the device. Sources stored by
class (the embedded set, ImageFolder trees) are shuffled once at load with a
fixed seed, so any slice such as `test_images[:20]` holds every class.
Training batches are shuffled, cropped, flipped and normalized on the device
(cnnlib.batches): no PIL and no per-image Python in the training loop.
"""
import hashlib
import io
import os
import pathlib
import shlex
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass

import torch

from . import config, download
from .batches import Batches

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")

EMBEDDED_ZIP = pathlib.Path(__file__).parent / "embedded" / "cifar10-subset.zip"
DATA_VARIABLE = config.CACHE_VARIABLE
CACHE_FORMAT = "imagefolder cache 2"  # part of every cache key: a change in decoding retires old caches
SOURCES = ("auto", "torchvision", "embedded", "a path to an ImageFolder tree")
FULL_SET_HINT = (
    "for the full CIFAR-10 run once with a network: cnnlib.data.load_cifar10('torchvision') "
    "(about 170 MB, cached), or pass the path of an ImageFolder tree"
)


class DataError(RuntimeError):
    """A data source is missing or unreadable; the message names the path and the fix."""


def default_root():
    """Where downloads and caches go: $CNNLIB_DATA, else ~/.cache/cnnlib."""
    return config.cache_dir()


@dataclass
class Cifar10:
    """One CIFAR-10 source, both splits, as uint8 tensors (N, 3, 32, 32) and int64 labels."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str
    classes: tuple = CLASSES

    @property
    def device(self):
        return self.train_images.device

    def to(self, device):
        device = torch.device(device)
        return Cifar10(
            self.train_images.to(device), self.train_labels.to(device),
            self.test_images.to(device), self.test_labels.to(device),
            self.source, self.classes,
        )

    def subset(self, train=None, test=None):
        """The first `train` training and `test` test images (for a quicker look)."""
        return Cifar10(
            self.train_images[:train], self.train_labels[:train],
            self.test_images[:test], self.test_labels[:test],
            self.source, self.classes,
        )

    def fingerprint(self):
        """What tells this data from other data, for a checkpoint to check before it resumes:
        the split sizes and a hash of every label and of the first training images' pixels."""
        digest = hashlib.sha1()
        for tensor in (self.train_labels, self.test_labels, self.train_images[:64]):
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return {"train_images": len(self.train_labels), "test_images": len(self.test_labels),
                "content": digest.hexdigest()[:16]}

    def split(self, name):
        """(images, labels) of the split "train" or "test"."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}: use 'train' or 'test'")
        return (self.train_images, self.train_labels) if name == "train" else (self.test_images, self.test_labels)

    def train_batches(self, batch_size, augment=True, generator=None, memory_format=torch.contiguous_format,
                      shard=(0, 1)):
        """Shuffled, augmented training batches, full batches only; with shard=(rank, processes)
        this process's part of each (global) batch (see cnnlib.distributed)."""
        return Batches(self.train_images, self.train_labels, batch_size, shuffle=True, augment=augment,
                       drop_last=True, generator=generator, memory_format=memory_format, shard=shard)

    def batches(self, split="test", batch_size=1000, memory_format=torch.contiguous_format):
        """A split in order, unaugmented, every image once (for evaluation)."""
        images, labels = self.split(split)
        return Batches(images, labels, batch_size, shuffle=False, augment=False, drop_last=False,
                       memory_format=memory_format)

    def test_batches(self, batch_size=1000):
        return self.batches("test", batch_size)

    def __repr__(self):
        return (f"Cifar10({self.source}: {len(self.train_labels):,} train / "
                f"{len(self.test_labels):,} test images on {self.device})")


# ---------------------------------------------------------------- loading

def load_cifar10(source=None, root=None, device=None, mode=None, verbose=True):
    """Load CIFAR-10 onto `device` (default: the training device).

    source: "auto", "torchvision", "embedded", or the path of an ImageFolder
    tree. None means "embedded" in quick mode and "auto" in full mode. One
    line says what was loaded, and how to get the full set when it was not.
    """
    if source is None:
        source = "embedded" if config.get_mode(mode) == "quick" else "auto"
    root = pathlib.Path(root) if root is not None else default_root()
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
        data = _load_image_folder(_folder_path(source), root)
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
                         f"As a path it names the folder {_shown(path.absolute())}, which does not exist")
    return path


def _shown(path):
    """A path as printable text: bytes that are not UTF-8 appear as \\xNN escapes."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def _shuffled(cifar, seed=0):
    """Both splits in one fixed random order: sources stored class by class
    would otherwise give one class in every slice like test_images[:20]."""
    generator = torch.Generator().manual_seed(seed)
    train = torch.randperm(len(cifar.train_labels), generator=generator)
    test = torch.randperm(len(cifar.test_labels), generator=generator)
    return Cifar10(cifar.train_images[train], cifar.train_labels[train],
                   cifar.test_images[test], cifar.test_labels[test], cifar.source, cifar.classes)


def _load_embedded():
    try:
        with zipfile.ZipFile(EMBEDDED_ZIP) as archive:
            names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
            train, test = _decode_named(names, archive.read, EMBEDDED_ZIP)
    # A damaged member fails its CRC (BadZipFile) or its inflation (zlib.error).
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, DataError) as error:
        raise DataError(
            f"the embedded subset {EMBEDDED_ZIP} is missing or damaged ({type(error).__name__}: {error}). "
            f"Reinstall cnnlib to restore it (pip install --force-reinstall --no-deps cnnlib, "
            f"or in a git checkout: git checkout -- cnnlib/embedded && pip install -e .)"
        ) from error
    return _shuffled(Cifar10(*train, *test, source="embedded subset"))


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


def _load_image_folder(path, root):
    cwd = _shown(pathlib.Path.cwd())
    relative = "" if path.is_absolute() else f" (a relative path starts at {cwd}, the working directory)"
    path = path.resolve()
    layout = (f"Expected {_shown(path)}/train/<class>/*.jpg and {_shown(path)}/test/<class>/*.jpg "
              f"with the ten classes {', '.join(CLASSES)}")
    if not path.is_dir():
        raise DataError(f"the folder {_shown(path)} does not exist{relative}, "
                        f"so its train/ and test/ are missing. {layout}")
    for split in SPLITS:
        if not (path / split).is_dir():
            raise DataError(f"{_shown(path)} is not a CIFAR-10 ImageFolder tree: "
                            f"{_shown(path / split)} is missing. {layout}")
    names = _image_names(path)
    cache = root / "cache" / f"imagefolder-{hashlib.sha1(os.fsencode(path)).hexdigest()[:16]}.pt"
    key = _content_key(path, names)
    tensors = _read_cache(cache, key)
    if tensors is None:
        train, test = _decode_named(names, lambda name: _read(path, name), path)
        tensors = [*train, *test]
        _write_cache(cache, key, tensors)
    return _shuffled(Cifar10(*tensors, source=f"ImageFolder {_shown(path)}"))


def _image_names(path):
    """split/class/file names under `path`, sorted; hidden files and folders
    (.DS_Store, .ipynb_checkpoints, macOS's ._name) are nobody's images."""
    names = (file.relative_to(path) for file in path.glob("*/*/*") if file.is_file())
    return sorted(str(name) for name in names if not any(part.startswith(".") for part in name.parts))


def _read(path, name):
    try:
        return (path / name).read_bytes()
    except OSError as error:
        raise DataError(f"{_shown(path)}: cannot read {_shown(name)} ({error.strerror or error}); "
                        f"check its permissions or remove it") from error


def _content_key(path, names):
    """A digest of every file's name and bytes, so any edit, however small, decodes again.

    Names and sizes miss a same-size edit; modification times miss a swap of
    two same-size files with equal times (files unpacked from one archive, or
    written within one clock tick, share them). Reading the bytes costs far
    less than decoding them, which is what the cache saves.
    """
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for name in names:
        content = _read(path, name)
        digest.update(os.fsencode(name) + b"\0" + len(content).to_bytes(8, "little"))
        digest.update(content)
    return digest.hexdigest()


def _read_cache(cache, key):
    """The cached tensors, if the cache is for these files and holds a valid CIFAR-10; else None."""
    if not cache.is_file():
        return None
    try:
        saved = torch.load(cache, weights_only=True)
        if saved["key"] == key and _valid(saved["tensors"]):
            return saved["tensors"]
    except Exception:  # a damaged or foreign cache is only a cache: decode again
        pass
    return None


def _valid(tensors):
    """Train and test images (N, 3, 32, 32) uint8 with N int64 labels in 0..9 each."""
    if not isinstance(tensors, (list, tuple)) or len(tensors) != 4:
        return False
    for images, labels in (tensors[:2], tensors[2:]):
        if not (isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor)
                and images.dtype == torch.uint8 and images.dim() == 4 and images.shape[1:] == (3, 32, 32)
                and labels.dtype == torch.int64 and labels.shape == (len(images),) and len(labels) > 0
                and 0 <= labels.min() and labels.max() < len(CLASSES)):
            return False
    return True


def _write_cache(cache, key, tensors):
    """Save the decoded tensors, atomically; a cache that cannot be written only costs a decode next time."""
    partial = None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        descriptor, partial = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.", suffix=".partial")
        with os.fdopen(descriptor, "wb") as file:
            torch.save({"key": key, "tensors": tensors}, file)
        os.replace(partial, cache)
    except (OSError, RuntimeError) as error:  # torch.save reports a failed write as RuntimeError
        warnings.warn(f"could not write the decoded-image cache {cache} ({error}); the images are loaded, "
                      f"and the next load decodes them again. For a cache, set ${DATA_VARIABLE} "
                      f"or pass root= to a writable folder", stacklevel=4)
    finally:
        if partial is not None and os.path.exists(partial):
            os.unlink(partial)


def _decode_named(names, read, where):
    """Decode split/class/file names into ((train images, labels), (test images, labels))."""
    from PIL import Image, UnidentifiedImageError

    by_split = {"train": ([], []), "test": ([], [])}
    for name in names:
        parts = pathlib.PurePath(name).parts
        if len(parts) != 3 or parts[0] not in by_split:
            continue
        split, label_name, _ = parts
        if label_name not in CLASSES:
            raise DataError(f"{_shown(where)}: class folder {_shown(split + '/' + label_name)} is not a "
                            f"CIFAR-10 class (expected {', '.join(CLASSES)})")
        try:
            with Image.open(io.BytesIO(read(name))) as opened:
                image = _to_rgb(opened, name, where)
        except (OSError, ValueError, UnidentifiedImageError) as error:
            raise DataError(f"{_shown(where)}: {_shown(name)} is not a readable image ({error}); "
                            f"remove or replace that file") from error
        if image.shape != (3, 32, 32):
            raise DataError(f"{_shown(where)}: {_shown(name)} is {image.shape[2]}x{image.shape[1]}; "
                            f"CIFAR-10 images are 32x32")
        by_split[split][0].append(image)
        by_split[split][1].append(CLASSES.index(label_name))
    out = []
    for split, (images, labels) in by_split.items():
        if not images:
            raise DataError(f"{_shown(where)}: no images found under {split}/<class>/; "
                            f"expected files like {split}/airplane/0000.jpg")
        out.append((torch.stack(images), torch.tensor(labels, dtype=torch.int64)))
    return out


def _to_rgb(opened, name, where):
    """A PIL image as a (3, H, W) uint8 tensor.

    Pillow's convert("RGB") clips 16-bit grayscale at 255 (a photograph turns
    white), so 16-bit values are scaled to 8 bits here, rounded: v * 255 / 65535.
    """
    if opened.mode.startswith("I;16") or (opened.mode == "I" and opened.format == "PNG"):
        values = torch.frombuffer(bytearray(opened.convert("I").tobytes()), dtype=torch.int32)
        gray = ((values.long().clamp(0, 65535) * 255 + 32767) // 65535).to(torch.uint8)
        return gray.view(1, opened.height, opened.width).repeat(3, 1, 1)
    if opened.mode in ("I", "F"):
        kind = "integer" if opened.mode == "I" else "float"
        raise DataError(f"{_shown(where)}: {_shown(name)} holds 32-bit {kind} pixels (Pillow mode {opened.mode}), "
                        f"whose range is unknown; "
                        f"save it as an 8-bit RGB or a 16-bit grayscale image")
    pixels = opened.convert("RGB")
    image = torch.frombuffer(bytearray(pixels.tobytes()), dtype=torch.uint8)
    return image.view(pixels.height, pixels.width, 3).permute(2, 0, 1)
