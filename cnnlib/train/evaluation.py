"""Scoring a model on a split: loss and accuracy, where the model is, in the mode it was in."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..modules import device_of, in_mode
from .precision import autocast, autocast_dtype, memory_format


@dataclass
class Score:
    loss: float
    accuracy: float


@torch.no_grad()
def evaluate(model, cifar, split="test", batch_size=1000, precision="auto", flip=False):
    """Loss and accuracy of `model` on a split ("test" or "train") of `cifar`.

    Runs where the model is, without moving it, changing its layout or
    leaving it in another mode: the training split is scored unaugmented.
    flip: test-time augmentation; each image's logits are averaged with its mirror image's.
    """
    device = device_of(model)
    dtype = autocast_dtype(device, precision)
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    with in_mode(model):
        for images, labels in cifar.batches(split, batch_size, memory_format=memory_format(device)):
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            with autocast(device, dtype):
                logits = model(images).float()
                if flip:
                    logits = (logits + model(images.flip(3)).float()) / 2
            total_loss += F.cross_entropy(logits, labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
    n = len(cifar.split(split)[1])
    return Score(loss=total_loss.item() / n, accuracy=correct.item() / n)
