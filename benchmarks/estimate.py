"""The time printed before a run against the time it took, recipe by recipe.

    python benchmarks/estimate.py --mode quick                      # every quick recipe
    python benchmarks/estimate.py --mode full --data /path/to/cifar10-jpeg --epochs 1 resnet20 baseline

Each recipe is estimated as a notebook's training cell estimates it
(cnnlib.recipes.plan: one probe per model family), then trained and timed
from the start of `run` to its end (evaluation and checkpoints included),
with records and checkpoints in a temporary folder. Prints the ratio of
estimate to measurement per recipe, and the whole set's.
"""
import argparse
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from cnnlib import data, recipes  # noqa: E402
from cnnlib.train import estimate


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="*", help="recipe names (default: all)")
    parser.add_argument("--mode", default="quick")
    parser.add_argument("--data", default=None, help="as for python -m cnnlib (default: the mode's)")
    parser.add_argument("--epochs", type=int, default=None, help="train this many epochs instead of the recipe's")
    args = parser.parse_args()
    os.environ["CNNLIB_RESULTS"] = tempfile.mkdtemp(prefix="cnnlib-estimate-")
    cifar = data.load_cifar10(args.data, mode=args.mode)
    names = args.recipes or recipes.names()
    overrides = {"epochs": args.epochs} if args.epochs else {}
    jobs = [recipes.job(name, **overrides) for name in names]
    plan = recipes.plan(jobs, cifar, args.mode)
    print(plan)
    rows = []
    for job, estimated in zip(jobs, plan.seconds):
        start = time.perf_counter()
        recipes.run(job.name, cifar, mode=args.mode, progress=False, verbose=False, announce=False, **job.overrides)
        measured = time.perf_counter() - start
        rows.append((job.name, estimated, measured))
        print(f"{job.name:22} estimated {estimate.duration(estimated):>12}  measured {estimate.duration(measured):>12}"
              f"  estimate / measured {estimated / measured:5.2f}", flush=True)
    total_estimate, total_measured = sum(r[1] for r in rows), sum(r[2] for r in rows)
    worst = max(rows, key=lambda r: abs(r[1] / r[2] - 1))
    print(f"all {len(rows)}: estimated {estimate.duration(total_estimate)}, measured {estimate.duration(total_measured)}"
          f" (estimate / measured {total_estimate / total_measured:.2f}); furthest: {worst[0]} "
          f"{worst[1] / worst[2]:.2f}; on {estimate.machine(cifar.device)}")


if __name__ == "__main__":
    main()
