"""How much faster is cnnlib's on-device batch pipeline than a standard DataLoader?

Both pipelines read the same CIFAR-10 images and make the same augmented,
normalized batches:

- standard: a torchvision-style Dataset of PIL images with RandomCrop(32,
  padding=4), RandomHorizontalFlip, ToTensor, Normalize, through a DataLoader
  with worker processes;
- cnnlib: the whole split as a uint8 tensor, crop/flip/normalize done on whole
  batches (cnnlib.data.Cifar10.train_batches).

It times one epoch of each pipeline alone, then one epoch of each feeding the
same small model (forward, backward, SGD step), and prints images per second
and the ratios. A measurement, not a test: numbers depend on the machine.

    python benchmarks/pipeline.py                      # the embedded subset
    python benchmarks/pipeline.py --data PATH          # an ImageFolder tree (e.g. all 50,000)
"""
import argparse
import os
import time

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from cnnlib import config, data, models


class PILCifar(Dataset):
    """CIFAR-10 as torchvision's dataset serves it: one PIL image at a time."""

    def __init__(self, images, labels, transform):
        self.images = images.permute(0, 2, 3, 1).contiguous().numpy()  # N, H, W, C as in CIFAR10.data
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def standard_loader(cifar, batch_size, workers):
    transform = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(data.MEAN, data.STD),
    ])
    dataset = PILCifar(cifar.train_images.cpu(), cifar.train_labels.cpu(), transform)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=workers,
                      pin_memory=torch.cuda.is_available(), persistent_workers=workers > 0)


def time_epoch(batches, device, step=None):
    """Images per second over one pass of `batches`; `step(images, labels)` trains on each."""
    count = 0
    start = time.perf_counter()
    for images, labels in batches:
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        if step is not None:
            step(images, labels)
        count += len(labels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return count / (time.perf_counter() - start)


def training_step(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(images, labels):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="embedded", help="embedded (default), torchvision, or an ImageFolder path")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--model", default="cifar_baseline")
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()

    config.seed_everything(0)
    device = config.get_device()
    cifar = data.load_cifar10(args.data, device=device)
    print(f"device: {config.device_name(device)}; {len(cifar.train_labels):,} training images; "
          f"batch {args.batch_size}; DataLoader with {args.workers} workers")
    torch.set_num_threads(os.cpu_count() or 1)

    loader = standard_loader(cifar, args.batch_size, args.workers)
    ours = cifar.train_batches(args.batch_size)
    time_epoch(ours, device)  # warm up both before timing
    time_epoch(loader, device)

    rows = []
    pipeline_std = time_epoch(loader, device)
    pipeline_ours = time_epoch(ours, device)
    rows.append(("data pipeline alone", pipeline_std, pipeline_ours))

    model = models.create(args.model, width=args.width).to(device)
    step = training_step(model)
    train_std = time_epoch(loader, device, step)
    train_ours = time_epoch(ours, device, step)
    rows.append((f"training {args.model} (width {args.width})", train_std, train_ours))

    print(f"{'':38} {'DataLoader+PIL':>16} {'cnnlib':>12} {'ratio':>8}")
    for name, std, ours_rate in rows:
        print(f"{name:38} {std:>12,.0f} i/s {ours_rate:>8,.0f} i/s {ours_rate / std:>7.1f}x")


if __name__ == "__main__":
    main()
