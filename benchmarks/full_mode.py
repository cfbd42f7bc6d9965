"""Train every full-mode recipe on one GPU and record accuracy and speed.

This is what the notebooks train in full mode, one recipe after another, on
the full CIFAR-10, then one epoch of the same model (resnet56) through a
standard torchvision DataLoader with PIL transforms, for the speed ratio.
Results go to assets/results/full-<gpu>.json (cnnlib.results) and a summary
is printed. A measurement, not a test.

    python benchmarks/full_mode.py --data PATH/TO/cifar10 [--recipes resnet20 resnet56]

--data takes what cnnlib.data.load_cifar10 takes: "torchvision" (the
original, downloaded once), or an ImageFolder tree such as a JPEG copy.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline import standard_loader  # noqa: E402

from cnnlib import arith, config, data, models, recipes, results, train  # noqa: E402

NOTEBOOK_RECIPES = [
    "baseline", "deep_plain_relu", "alexnet", "alexnet_no_lrn", "alexnet_no_overlap", "alexnet_no_dropout",
    "alexnet_no_augment", "vgg11", "vgg16", "googlenet", "plain20", "plain56", "resnet20", "resnet56",
    "densenet_bc",
]


def dataloader_images_per_second(recipe, cifar, workers):
    """One epoch of `recipe`'s model fed by a DataLoader of PIL images, with the same
    mixed precision and channels_last as cnnlib.train.fit."""
    device = cifar.device
    model = train.prepare_model(models.create(recipe.model, **recipe.options), device)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True)
    dtype = train.mixed_precision(device)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    loader = standard_loader(cifar, recipe.batch_size, workers)
    model.train()
    for epoch in range(2):  # the first epoch warms up workers and kernels
        count, start = 0, time.perf_counter()
        for images, labels in loader:
            images = images.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            train.training_step(model, optimizer, images, labels, dtype, scaler)
            count += len(labels)
        torch.cuda.synchronize() if device.type == "cuda" else None
        rate = count / (time.perf_counter() - start)
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="auto")
    parser.add_argument("--mode", default="full", choices=config.MODES)
    parser.add_argument("--recipes", nargs="*", default=NOTEBOOK_RECIPES)
    parser.add_argument("--baseline", default="resnet56", help="recipe timed through a DataLoader")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs (smoke tests)")
    args = parser.parse_args()

    device = config.get_device()
    cifar = data.load_cifar10(args.data, mode=args.mode)
    print(f"device: {config.device_name(device)}, mode {args.mode}, data: {cifar.source}", flush=True)
    summary = {}
    overrides = {"epochs": args.epochs} if args.epochs else {}
    for name in args.recipes:
        model, history = train.run_recipe(name, mode=args.mode, data=cifar, progress=False, verbose=False, **overrides)
        recipe = recipes.get(name, args.mode)
        macs = arith.parameter_table(models.create(recipe.model, **recipe.options), (3, 32, 32)).total_macs
        entry = results.record(name, model, history, args.mode, multiply_adds=macs, notebook="benchmarks/full_mode.py")
        summary[name] = entry
        print(f"{name:20} {entry['parameters']:>10,} params  test acc {entry['test_acc']:.2%}  "
              f"{entry['train_seconds']:7.1f} s  {entry['images_per_second']:>9,.0f} img/s", flush=True)
    total = sum(e["train_seconds"] for e in summary.values())
    print(f"all recipes: {total:.0f} s of training")
    if args.baseline in summary:
        recipe = recipes.get(args.baseline, args.mode).replace(**overrides)
        standard = dataloader_images_per_second(recipe, cifar, args.workers)
        ours = summary[args.baseline]["images_per_second"]
        print(f"{args.baseline}: cnnlib {ours:,.0f} img/s, DataLoader+PIL {standard:,.0f} img/s: {ours / standard:.1f}x")
    print(f"results recorded in {results.results_file(args.mode)}")


if __name__ == "__main__":
    main()
