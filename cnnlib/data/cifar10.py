"""CIFAR-10 as the course holds it: both splits as uint8 tensors on the training device."""
import hashlib
import os
from dataclasses import dataclass

import torch

from .batches import Batches

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")


class DataError(RuntimeError):
    """A data source is missing or unreadable; the message names the path and the fix."""


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

    def held_out(self, train):
        """Train on the first `train` training images, test on every other image of the set (the
        rest of the training split and the whole test split): a small training set, scored on as
        many images it never saw as there are."""
        return Cifar10(self.train_images[:train], self.train_labels[:train],
                       torch.cat([self.train_images[train:], self.test_images]),
                       torch.cat([self.train_labels[train:], self.test_labels]),
                       f"{self.source}; {train:,} images to train on, the other "
                       f"{len(self.train_labels) - train + len(self.test_labels):,} held out", self.classes)

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
        this process's part of each (global) batch (see cnnlib.train.distributed)."""
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


def shown(path):
    """A path as printable text: bytes that are not UTF-8 appear as \\xNN escapes."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def shuffled(cifar, seed=0):
    """Both splits in one fixed random order: sources stored class by class
    would otherwise give one class in every slice like test_images[:20]."""
    generator = torch.Generator().manual_seed(seed)
    train = torch.randperm(len(cifar.train_labels), generator=generator)
    test = torch.randperm(len(cifar.test_labels), generator=generator)
    return Cifar10(cifar.train_images[train], cifar.train_labels[train],
                   cifar.test_images[test], cifar.test_labels[test], cifar.source, cifar.classes)
