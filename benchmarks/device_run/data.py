"""The data a plan trains on: the carried archive, unpacked once and counted, decoded once."""
import hashlib
import pathlib
import shutil
import tarfile

from .plans import EXPECTED_IMAGES


class RefusedError(RuntimeError):
    """The run cannot go on (wrong data, no GPU); the message says why."""


def count_images(folder):
    """{"train": n, "test": n} image files in an ImageFolder tree (split/class/file)."""
    folder = pathlib.Path(folder)
    return {split: sum(1 for p in (folder / split).glob("*/*") if p.is_file()) for split in EXPECTED_IMAGES}


def check_images(folder, expected=EXPECTED_IMAGES):
    """Refuse anything but exactly the expected number of images per split."""
    found = count_images(folder)
    if found != dict(expected):
        raise RefusedError(
            f"{folder} holds {found['train']:,} training and {found['test']:,} test images; a full-mode reference "
            f"run needs exactly {expected['train']:,} and {expected['test']:,} (the whole CIFAR-10). "
            f"Make the archive again (benchmarks/README.md) and carry .cifar10-jpeg")
    return found


def unpack(archive, work):
    """The ImageFolder tree inside `archive`, unpacked once into `work` (kept for a second plan
    on the same machine); returns its path."""
    archive = pathlib.Path(archive)
    if not archive.is_file():
        raise RefusedError(f"no data archive at {archive}: make it (benchmarks/README.md) and name "
                           f"its folder in the device call's carry")
    target = pathlib.Path(work) / "data"
    done = target / ".unpacked"
    if not (done.exists() and done.read_text() == _digest(archive)):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        done.write_text(_digest(archive))
    tops = [p for p in target.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise RefusedError(f"{archive} should hold one folder (cifar10-jpeg/train, cifar10-jpeg/test), "
                           f"found {sorted(p.name for p in tops)}")
    return tops[0]


def _digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode_once(folder, cache, expected=EXPECTED_IMAGES):
    """Decode the tree once through cnnlib.data (so each step's process loads the cached
    tensors instead of 60,000 JPEGs) and check that every image decoded."""
    from cnnlib import data

    cifar = data.load_cifar10(str(folder), root=cache, device="cpu", verbose=False)
    found = {"train": len(cifar.train_labels), "test": len(cifar.test_labels)}
    if found != dict(expected):
        raise RefusedError(f"cnnlib decoded {found} images from {folder}, expected {dict(expected)}")
    return cifar.source
