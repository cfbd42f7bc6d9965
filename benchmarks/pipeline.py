"""How much faster is cnnlib's on-device batch pipeline than a torchvision DataLoader?

Both pipelines make the same augmented, normalized batches of the same images
(a random 32x32 crop of the image padded by 4, a horizontal flip for half of
them, CIFAR-10's channel statistics):

- DataLoader: a Dataset serving one PIL image at a time, as torchvision's
  CIFAR10 does, through RandomCrop(32, padding=4), RandomHorizontalFlip,
  ToTensor and Normalize, with worker processes;
- cnnlib: the split as one uint8 tensor on the device, cut by translation
  group (cnnlib.data.batches.Batches, what fit uses);
- cnnlib's readable reference: per batch a gather of the shuffled images,
  then cnnlib.data.batches.random_crop_flip (what notebook 00 shows).

It times the pipelines alone, then the DataLoader and cnnlib feeding the same
model with the step fit uses (cnnlib.train.training_step, same precision and
memory layout), and prints images per second, the median of several epochs
after a warm-up one, and the ratios. A measurement, not a test; the targets:
the pipeline alone >= 10x a DataLoader on 2 CPU cores (50,000 images), and
feeding resnet20 on a GPU >= 3x.

    python benchmarks/pipeline.py --data PATH/TO/cifar10-jpeg           # all 50,000 training images
    python benchmarks/pipeline.py --data embedded --model none          # a quick look, pipelines alone
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # the checkout's cnnlib
from cnnlib import config, data, models, recipes, train  # noqa: E402
from cnnlib.data import batches


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
    """Training batches the usual way: PIL transforms in DataLoader workers."""
    transform = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(batches.MEAN, batches.STD),
    ])
    dataset = PILCifar(cifar.train_images.cpu(), cifar.train_labels.cpu(), transform)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=workers,
                      pin_memory=cifar.device.type == "cuda", persistent_workers=workers > 0)


class ReferenceBatches:
    """cnnlib's readable reference: shuffle, gather each batch, crop and flip it with
    random_crop_flip, normalize (the per-batch work Batches replaces)."""

    def __init__(self, images, labels, batch_size, memory_format=torch.contiguous_format):
        self.images, self.labels, self.batch_size, self.memory_format = images, labels, batch_size, memory_format

    def __iter__(self):
        order = torch.randperm(len(self.labels), device=self.labels.device)
        for b in range(len(self.labels) // self.batch_size):
            index = order[b * self.batch_size:(b + 1) * self.batch_size]
            crops = batches.random_crop_flip(self.images.index_select(0, index))
            yield batches.normalize(crops, self.memory_format), self.labels.index_select(0, index)


def images_per_second(pipeline, device, step=None, limit=None, memory_format=torch.contiguous_format):
    """Images per second over one pass of `pipeline` (at most `limit` images);
    `step(images, labels)` trains on each batch."""
    count = 0
    start = time.perf_counter()
    for images, labels in pipeline:
        images = images.to(device, memory_format=memory_format, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        if step is not None:
            step(images, labels)
        count += len(labels)
        if limit is not None and count >= limit:
            break
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return count / (time.perf_counter() - start)


def median_rate(pipeline, device, epochs, **options):
    """The median images/s of `epochs` timed epochs after one warm-up epoch."""
    images_per_second(pipeline, device, **options)
    return statistics.median(images_per_second(pipeline, device, **options) for _ in range(epochs))


def model_step(recipe, device):
    """The recipe's model and a function doing fit's training step on a batch."""
    model = train.prepare_model(models.create(recipe.model, **recipe.options), device)
    model.train()
    dtype = train.autocast_dtype(device, recipe.precision)
    scaler = train.gradient_scaler(device, dtype)
    optimizer = train.sgd(model, recipe.lr, weight_decay=recipe.weight_decay)

    def step(images, labels):
        train.training_step(model, optimizer, images, labels, dtype, scaler, recipe.label_smoothing)

    return step, dtype


def machine():
    """Where and when this ran, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    import torchvision

    return (f"{datetime.datetime.now().isoformat(timespec='seconds')}, {platform.node()}: {cpu}, "
            f"{os.cpu_count()} CPUs ({torch.get_num_threads()} torch threads), {gpu}; "
            f"torch {torch.__version__}, torchvision {torchvision.__version__}, Python {platform.python_version()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="embedded", help="embedded (default), torchvision, or an ImageFolder path")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (default 2)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after a warm-up one; the median is shown")
    parser.add_argument("--model", default="resnet20",
                        help="the recipe whose full-mode model both pipelines feed (default resnet20), or none")
    parser.add_argument("--model-images", type=int, default=None,
                        help="images per epoch when feeding the model (default: all; a CPU may need fewer)")
    parser.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    config.seed_everything(0)
    device = config.get_device()
    cifar = data.load_cifar10(args.data, device=device)
    layout = train.memory_format(device)
    where = machine()
    print(where)
    print(f"{len(cifar.train_labels):,} training images ({cifar.source}); batch {args.batch_size}; "
          f"DataLoader with {args.workers} workers; median of {args.epochs} epochs after a warm-up epoch", flush=True)

    loader = standard_loader(cifar, args.batch_size, args.workers)
    ours = cifar.train_batches(args.batch_size, memory_format=layout)
    reference = ReferenceBatches(cifar.train_images, cifar.train_labels, args.batch_size, layout)
    rows = []

    def add(what, dataloader, cnnlib):
        rows.append({"what": what, "dataloader": dataloader, "cnnlib": cnnlib, "ratio": cnnlib / dataloader})
        print(f"  {what}: DataLoader {dataloader:,.0f}, cnnlib {cnnlib:,.0f} images/s: {cnnlib / dataloader:.1f}x",
              flush=True)

    alone = median_rate(loader, device, args.epochs)
    add("data pipeline alone", alone, median_rate(ours, device, args.epochs))
    add("data pipeline alone, cnnlib's per-batch reference", alone, median_rate(reference, device, args.epochs))
    if args.model != "none":
        recipe = recipes.get(args.model, "full")
        step, dtype = model_step(recipe, device)
        feeding = dict(step=step, limit=args.model_images, memory_format=layout)
        what = (f"feeding {args.model} ({recipe.model}, {str(dtype).replace('torch.', '') if dtype else 'float32'}"
                + (f", {args.model_images:,} images per epoch)" if args.model_images else ")"))
        add(what, median_rate(loader, device, args.epochs, **feeding),
            median_rate(ours, device, args.epochs, **feeding))

    width = max(len(row["what"]) for row in rows)
    print(f"\n{'':{width}} {'DataLoader':>12} {'cnnlib':>12} {'ratio':>7}")
    for row in rows:
        print(f"{row['what']:{width}} {row['dataloader']:>8,.0f} i/s {row['cnnlib']:>8,.0f} i/s {row['ratio']:>6.1f}x")
    if args.json:
        found = {"machine": where, "device": config.device_name(device), "data": cifar.source,
                 "training_images": len(cifar.train_labels), "batch_size": args.batch_size, "workers": args.workers,
                 "epochs": args.epochs, "rows": rows}
        pathlib.Path(args.json).write_text(json.dumps(found, indent=1) + "\n")


if __name__ == "__main__":
    main()
