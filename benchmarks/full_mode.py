"""Train the recipes one after another in one process, recorded; and the same model fed by a DataLoader.

Every recipe (or --recipes) trains through cnnlib.recipes.run, which records
each run in $CNNLIB_RESULTS (else the results folder of cnnlib's cache, never
the checkout). Then one recipe's model (--baseline, default resnet56) trains
through a torchvision DataLoader of PIL images with fit's own step
(cnnlib.train.training_step: same optimizer, precision and memory layout),
and the two speeds are compared. A measurement, not a test.

    python benchmarks/full_mode.py --data PATH/TO/cifar10-jpeg                      # on a GPU
    python benchmarks/full_mode.py --data embedded --mode full --epochs 1 --limit 512   # CPU smoke

The reference GPU runs go through benchmarks/device_run.sh, which trains each
recipe in a process of its own under a deadline and uses this script for its
1-epoch smokes (--epochs 1 --baseline none, and --precision fp16 for the T4 path).
"""
import argparse
import pathlib
import statistics
import sys
import time

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # pipeline.py beside this file; the checkout's cnnlib
from pipeline import standard_loader  # noqa: E402

from cnnlib import arith, config, data, models, recipes, results, train  # noqa: E402


def dataloader_images_per_second(recipe, cifar, workers, epochs=1):
    """Images/s of `recipe`'s model trained by fit's step on batches from a DataLoader of
    PIL images: the median of `epochs` epochs after a warm-up epoch."""
    device = cifar.device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as fit does
    layout = train.memory_format(device)
    model = train.prepare_model(models.create(recipe.model, **recipe.options), device)
    model.train()
    dtype = train.autocast_dtype(device, recipe.precision)
    scaler = train.gradient_scaler(device, dtype)
    optimizer = train.sgd(model, recipe.lr, weight_decay=recipe.weight_decay)
    loader = standard_loader(cifar, recipe.batch_size, workers)
    rates = []
    for _ in range(epochs + 1):
        count, start = 0, time.perf_counter()
        for images, labels in loader:
            images = images.to(device, memory_format=layout, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            train.training_step(model, optimizer, images, labels, dtype, scaler, recipe.label_smoothing)
            count += len(labels)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates[1:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="auto", help="auto, torchvision, embedded, or an ImageFolder path")
    parser.add_argument("--mode", default="full", choices=config.MODES)
    parser.add_argument("--recipes", nargs="+", default=recipes.names(), metavar="RECIPE",
                        help="default: every recipe")
    parser.add_argument("--epochs", type=int, default=None, help="train this many epochs instead of each recipe's")
    parser.add_argument("--precision", choices=train.PRECISIONS, default=None,
                        help="override every recipe's precision (fp16: the T4 path, with a GradScaler)")
    parser.add_argument("--limit", type=int, default=None,
                        help="smoke runs: the first N training and N test images only; records nothing")
    parser.add_argument("--no-record", action="store_true", help="record nothing")
    parser.add_argument("--baseline", default="resnet56", help="the recipe also timed through a DataLoader, or none")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (default 2)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.recipes + [args.baseline] if n not in recipes.RECIPES and n != "none"]
    if unknown:
        parser.error(f"no recipe named {', '.join(unknown)}; the recipes are: {', '.join(recipes.names())}")

    device = config.get_device()
    cifar = data.load_cifar10(args.data, mode=args.mode)
    record = not (args.no_record or args.limit)
    if args.limit:
        cifar = cifar.subset(train=args.limit, test=args.limit)
        print(f"smoke run on the first {len(cifar.train_labels):,} training and {len(cifar.test_labels):,} "
              f"test images: nothing is recorded")
    print(f"device: {config.device_name(device)}, mode {args.mode}, data: {cifar!r}", flush=True)
    overrides = {key: value for key, value in (("epochs", args.epochs), ("precision", args.precision)) if value}

    rates, interrupted, start = {}, False, time.perf_counter()
    for name in args.recipes:
        run = recipes.run(name, cifar, mode=args.mode, record=record, notebook="benchmarks/full_mode.py",
                          progress=False, verbose=False, **overrides)
        history = run.history
        if not len(history):
            interrupted = True
            print(f"{run.name:40} not trained (stopped)", flush=True)
            continue
        interrupted |= history.interrupted
        final = history.final
        rates[name] = final["images_per_second"]
        parameters = arith.count_parameters(run.model)
        state = " (interrupted)" if history.interrupted else " (diverged)" if history.diverged else ""
        print(f"{run.name:40} {parameters:>11,} params  {len(history):3} epochs  test acc {final['test_acc']:6.1%}  "
              f"{history.train_seconds:7.1f} s  {final['images_per_second']:>9,.0f} img/s{state}", flush=True)
    print(f"all recipes: {time.perf_counter() - start:.0f} s")

    if args.baseline != "none" and not interrupted:
        if args.baseline not in rates:
            print(f"DataLoader comparison skipped: {args.baseline} was not trained here (add it to --recipes)")
        else:
            recipe = recipes.get(args.baseline, args.mode).replace(**overrides)
            standard = dataloader_images_per_second(recipe, cifar, args.workers)
            ours = rates[args.baseline]
            print(f"{args.baseline}: cnnlib {ours:,.0f} img/s, DataLoader+PIL ({args.workers} workers) "
                  f"{standard:,.0f} img/s: {ours / standard:.1f}x")
    if record:
        print(f"recorded in {results.records_folder(args.mode, cifar.device)}")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
