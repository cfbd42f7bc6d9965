"""How do two trainings on one small CPU share it? Thread counts, OpenMP's wait, cnnlib's sharing.

A learner who runs two notebooks at once, or the tests beside a notebook,
puts two torch processes on the same cores. This trains the same quick
recipe alone and as two processes at once, under each setting, and prints
each process's wall time and the slowdown against training alone with
torch's threads fixed. The settings: torch's threads fixed (cnnlib's sharing
switched off), with OpenMP told to wait passively or to spin briefly, one
thread each, and cnnlib's default (fit gives torch the cores that other
processes leave free: cnnlib.train.cpu.CpuShare). A measurement, not a test: run it on
an otherwise quiet machine.

    python benchmarks/threads.py [--recipe baseline] [--epochs 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

FIXED = {"FIXED_THREADS": "1"}
SETTINGS = {
    "torch's threads, fixed": FIXED,
    "fixed, OMP_WAIT_POLICY=PASSIVE": {**FIXED, "OMP_WAIT_POLICY": "PASSIVE"},
    "fixed, GOMP_SPINCOUNT=1000": {**FIXED, "GOMP_SPINCOUNT": "1000"},
    "1 thread each": {**FIXED, "THREADS": "1"},
    "cnnlib's sharing (the default)": {},
}

TRAIN = """
import os, sys, time, torch
from cnnlib import data, recipes
from cnnlib.train import cpu
if os.environ.get("THREADS"):
    torch.set_num_threads(int(os.environ["THREADS"]))
if os.environ.get("FIXED_THREADS"):
    cpu.CpuShare.adapt = lambda self: self.threads  # cnnlib's sharing off
cifar = data.load_cifar10("embedded", device="cpu", verbose=False)
start = time.perf_counter()
recipes.run(sys.argv[1], cifar, mode="quick", epochs=int(sys.argv[2]), record=False, progress=False, verbose=False)
print(time.perf_counter() - start)
"""


def train(settings, copies, recipe, epochs):
    """Wall seconds of the training part of each of `copies` processes started together."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(settings)
    processes = [subprocess.Popen([sys.executable, "-c", TRAIN, recipe, str(epochs)], env=env,
                                  stdout=subprocess.PIPE, text=True) for _ in range(copies)]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in processes]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="baseline")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    import torch

    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads by default); recipe {args.recipe}, {args.epochs} epochs, quick mode")
    measured = {}
    for name, settings in SETTINGS.items():
        for copies in (1, 2):
            runs = [t for _ in range(args.repeats) for t in train(settings, copies, args.recipe, args.epochs)]
            measured[(name, copies)] = statistics.median(runs)
    alone = measured[("torch's threads, fixed", 1)]
    print(f"{'setting':34} {'alone':>9} {'two at once':>12} {'slowdown of each':>17}")
    for name in SETTINGS:
        one, two = measured[(name, 1)], measured[(name, 2)]
        print(f"{name:34} {one:8.1f}s {two:11.1f}s {two / alone:16.1f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{k[0]} / {k[1]}": v for k, v in measured.items()}, f, indent=1)


if __name__ == "__main__":
    main()
