"""Every trained model's settings, per mode, in one place.

A Recipe names a registered model with its options and the training budget.
`run` is the one way from a recipe to a trained, recorded model: the
notebooks, `python -m cnnlib RECIPE` and the benchmarks all call it, so a
number in the README and a number in a notebook come from the same settings.
A run with changed settings (more epochs, another width, another seed) is
recorded under its own name, such as "resnet56 [epochs=10]", so it never
replaces the standard recipe's record.

quick: the embedded subset on a CPU, small widths, seconds per model.
full:  the original CIFAR-10 on a GPU, budgets chosen to get close to the
       papers in minutes per model.

The package's modules: settings.py (the Recipe, the table of recipes, jobs), running.py
(`run`, `run_all`), plans.py (the time a cell's runs will take), shipped.py (shipped runs,
seed spreads and learning-rate sweeps). Everything a notebook uses is here, as recipes.NAME.
"""
from .plans import Plan, plan
from .shipped import Sweep, recorded, seed_records, seed_spread, spread_of, sweep
from .running import Run, run, run_all
from .settings import (RECIPES, SIDE_BY_SIDE, SIDE_BY_SIDE_BUDGET, Job, Recipe, build, get, job, names,
                       side_by_side_jobs)

__all__ = ["Plan", "plan", "Sweep", "recorded", "seed_records", "seed_spread", "spread_of", "sweep", "Run", "run", "run_all",
           "RECIPES", "SIDE_BY_SIDE", "SIDE_BY_SIDE_BUDGET", "Job", "Recipe", "build", "get", "job", "names",
           "side_by_side_jobs"]
