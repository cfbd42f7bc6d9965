"""CIFAR-10 as uint8 tensors on the training device, and batches made there.

Three sources of the same ten classes:

- "torchvision": the original CIFAR-10, downloaded once by torchvision into
  the data folder (default ~/.cache/cnnlib, or $CNNLIB_DATA, or `root=`);
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
import zipfile
from dataclasses import dataclass

import torch

from . import config
from .batches import Batches

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")

EMBEDDED_ZIP = pathlib.Path(__file__).parent / "embedded" / "cifar10-subset.zip"
DATA_VARIABLE = config.CACHE_VARIABLE
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

    def split(self, name):
        """(images, labels) of the split "train" or "test"."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}: use 'train' or 'test'")
        return (self.train_images, self.train_labels) if name == "train" else (self.test_images, self.test_labels)

    def train_batches(self, batch_size, augment=True, generator=None, memory_format=torch.contiguous_format):
        """Shuffled, augmented training batches, full batches only."""
        return Batches(self.train_images, self.train_labels, batch_size, shuffle=True, augment=augment,
                       drop_last=True, generator=generator, memory_format=memory_format)

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
            data = _load_torchvision(root)
        except DataError as error:
            data = _load_embedded()
            note = f"the original CIFAR-10 is not in {root} and could not be downloaded ({error.__cause__ or error})"
    elif source == "torchvision":
        data = _load_torchvision(root)
    elif source == "embedded":
        data = _load_embedded()
    elif isinstance(source, (str, os.PathLike)) and (os.sep in str(source) or pathlib.Path(source).exists()):
        data = _load_image_folder(pathlib.Path(source), root)
    else:
        raise ValueError(f"unknown data source {source!r}: use one of {', '.join(SOURCES)}")
    if verbose:
        line = f"Loaded {data}"
        if data.source.startswith("embedded"):
            line += f". This is the small subset shipped with cnnlib; {FULL_SET_HINT}."
        if note:
            line = f"{line}\n  (auto: {note})"
        print(line)
    return data.to(config.get_device(device))


def _shuffled(cifar, seed=0):
    """Both splits in one fixed random order: sources stored class by class
    would otherwise give one class in every slice like test_images[:20]."""
    generator = torch.Generator().manual_seed(seed)
    train = torch.randperm(len(cifar.train_labels), generator=generator)
    test = torch.randperm(len(cifar.test_labels), generator=generator)
    return Cifar10(cifar.train_images[train], cifar.train_labels[train],
                   cifar.test_images[test], cifar.test_labels[test], cifar.source, cifar.classes)


def _load_embedded():
    with zipfile.ZipFile(EMBEDDED_ZIP) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
        train, test = _decode_named(names, archive.read, EMBEDDED_ZIP)
    return _shuffled(Cifar10(*train, *test, source="embedded subset"))


def _load_torchvision(root):
    import torchvision

    folder = root / "cifar-10-batches-py"
    splits = []
    for train in (True, False):
        try:
            dataset = torchvision.datasets.CIFAR10(str(root), train=train, download=not folder.exists())
        except (OSError, RuntimeError, ValueError) as error:
            raise DataError(
                f"could not load the original CIFAR-10 into {root}: {error}. "
                f"Connect to the internet and try again, put the Python version of CIFAR-10 "
                f"(cifar-10-batches-py) in {root}, or set ${DATA_VARIABLE} to where it is"
            ) from error
        except Exception as error:  # a truncated pickle raises UnpicklingError, EOFError, ...
            raise DataError(
                f"{folder} exists but could not be read ({type(error).__name__}: {error}); "
                f"delete that folder and load again to download a fresh copy"
            ) from error
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
        splits += [images, torch.tensor(dataset.targets, dtype=torch.int64)]
    return Cifar10(*splits, source="original CIFAR-10 (torchvision)")


def _load_image_folder(path, root):
    path = path.expanduser().resolve()
    for split in ("train", "test"):
        if not (path / split).is_dir():
            raise DataError(
                f"{path} is not a CIFAR-10 ImageFolder tree: {path / split} is missing. "
                f"Expected {path}/train/<class>/*.jpg and {path}/test/<class>/*.jpg "
                f"with the ten classes {', '.join(CLASSES)}"
            )
    names = sorted(str(p.relative_to(path)) for p in path.glob("*/*/*") if p.is_file())
    cache = root / "cache" / f"imagefolder-{_fingerprint(path, names)}.pt"
    if cache.exists():
        try:
            saved = torch.load(cache, weights_only=True)
            return _shuffled(Cifar10(*saved["tensors"], source=f"ImageFolder {path}"))
        except Exception:
            cache.unlink()  # a broken cache is only a cache: decode again
    train, test = _decode_named(names, lambda n: (path / n).read_bytes(), path)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"tensors": [*train, *test]}, cache)
    return _shuffled(Cifar10(*train, *test, source=f"ImageFolder {path}"))


def _fingerprint(path, names):
    digest = hashlib.sha1(str(path).encode())
    for name in names:
        digest.update(name.encode())
        digest.update(str((path / name).stat().st_size).encode())
    return digest.hexdigest()[:16]


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
            raise DataError(f"{where}: class folder {split}/{label_name} is not a CIFAR-10 class "
                            f"(expected {', '.join(CLASSES)})")
        try:
            with Image.open(io.BytesIO(read(name))) as opened:
                pixels = opened.convert("RGB")
            image = torch.frombuffer(bytearray(pixels.tobytes()), dtype=torch.uint8)
            image = image.view(pixels.height, pixels.width, 3).permute(2, 0, 1)
        except (OSError, UnidentifiedImageError) as error:
            raise DataError(f"{where}: {name} is not a readable image ({error}); "
                            f"remove or replace that file") from error
        if image.shape != (3, 32, 32):
            raise DataError(f"{where}: {name} is {image.shape[2]}x{image.shape[1]}; "
                            f"CIFAR-10 images are 32x32")
        by_split[split][0].append(image)
        by_split[split][1].append(CLASSES.index(label_name))
    out = []
    for split, (images, labels) in by_split.items():
        if not images:
            raise DataError(f"{where}: no images found under {split}/<class>/; "
                            f"expected files like {split}/airplane/0000.jpg")
        out.append((torch.stack(images), torch.tensor(labels, dtype=torch.int64)))
    return out
