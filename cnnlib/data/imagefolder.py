"""An ImageFolder tree (train/<class>/*.jpg, test/<class>/*.jpg) decoded once, and its cache.

The decoded tensors are cached in the data folder, keyed on every file's
name and bytes, so an edit of any file decodes the tree again.
"""
import hashlib
import io
import os
import pathlib
import tempfile
import warnings

import torch

from ..config import DATA_VARIABLE
from .cifar10 import CLASSES, SPLITS, Cifar10, DataError, shown, shuffled

CACHE_FORMAT = "imagefolder cache 2"  # part of every cache key: a change in decoding retires old caches


def load(path, root):
    cwd = shown(pathlib.Path.cwd())
    relative = "" if path.is_absolute() else f" (a relative path starts at {cwd}, the working directory)"
    path = path.resolve()
    layout = (f"Expected {shown(path)}/train/<class>/*.jpg and {shown(path)}/test/<class>/*.jpg "
              f"with the ten classes {', '.join(CLASSES)}")
    if not path.is_dir():
        raise DataError(f"the folder {shown(path)} does not exist{relative}, "
                        f"so its train/ and test/ are missing. {layout}")
    for split in SPLITS:
        if not (path / split).is_dir():
            raise DataError(f"{shown(path)} is not a CIFAR-10 ImageFolder tree: "
                            f"{shown(path / split)} is missing. {layout}")
    names = _image_names(path)
    cache = root / "cache" / f"imagefolder-{hashlib.sha1(os.fsencode(path)).hexdigest()[:16]}.pt"
    key = _content_key(path, names)
    tensors = _read_cache(cache, key)
    if tensors is None:
        train, test = decode_named(names, lambda name: _read(path, name), path)
        tensors = [*train, *test]
        _write_cache(cache, key, tensors)
    return shuffled(Cifar10(*tensors, source=f"ImageFolder {shown(path)}"))


def _image_names(path):
    """split/class/file names under `path`, sorted; hidden files and folders
    (.DS_Store, .ipynb_checkpoints, macOS's ._name) are nobody's images."""
    names = (file.relative_to(path) for file in path.glob("*/*/*") if file.is_file())
    return sorted(str(name) for name in names if not any(part.startswith(".") for part in name.parts))


def _read(path, name):
    try:
        return (path / name).read_bytes()
    except OSError as error:
        raise DataError(f"{shown(path)}: cannot read {shown(name)} ({error.strerror or error}); "
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


def decode_named(names, read, where):
    """Decode split/class/file names into ((train images, labels), (test images, labels))."""
    from PIL import Image, UnidentifiedImageError

    by_split = {"train": ([], []), "test": ([], [])}
    for name in names:
        parts = pathlib.PurePath(name).parts
        if len(parts) != 3 or parts[0] not in by_split:
            continue
        split, label_name, _ = parts
        if label_name not in CLASSES:
            raise DataError(f"{shown(where)}: class folder {shown(split + '/' + label_name)} is not a "
                            f"CIFAR-10 class (expected {', '.join(CLASSES)})")
        try:
            with Image.open(io.BytesIO(read(name))) as opened:
                image = _to_rgb(opened, name, where)
        except (OSError, ValueError, UnidentifiedImageError) as error:
            raise DataError(f"{shown(where)}: {shown(name)} is not a readable image ({error}); "
                            f"remove or replace that file") from error
        if image.shape != (3, 32, 32):
            raise DataError(f"{shown(where)}: {shown(name)} is {image.shape[2]}x{image.shape[1]}; "
                            f"CIFAR-10 images are 32x32")
        by_split[split][0].append(image)
        by_split[split][1].append(CLASSES.index(label_name))
    out = []
    for split, (images, labels) in by_split.items():
        if not images:
            raise DataError(f"{shown(where)}: no images found under {split}/<class>/; "
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
        raise DataError(f"{shown(where)}: {shown(name)} holds 32-bit {kind} pixels (Pillow mode {opened.mode}), "
                        f"whose range is unknown; "
                        f"save it as an 8-bit RGB or a 16-bit grayscale image")
    pixels = opened.convert("RGB")
    image = torch.frombuffer(bytearray(pixels.tobytes()), dtype=torch.uint8)
    return image.view(pixels.height, pixels.width, 3).permute(2, 0, 1)
