"""The runs a notebook reads instead of training: seed spreads and learning-rate sweeps.

    python scripts/recorded_runs.py                # every setting below, then publish
    python scripts/recorded_runs.py --no-publish

Two things a quick notebook cannot afford to train each time, and must not
type in by hand: the spread of a setting's seeds (by the course's noise rule
one seed decides on a rate only with it; cnnlib.claims.Spread) and a sweep
of learning rates at the budget the notebook compares (each arm's own rate,
from a sweep that brackets its best). This command trains the runs below on
the embedded subset in quick mode, as the notebook would (scoring the
training split too), and merges their records into the shipped quick
references (cnnlib/references/quick-cpu.json), where
cnnlib.recipes.seed_spread and cnnlib.recipes.sweep find them. Its trainings
checkpoint after every epoch in a persistent folder (default
~/.cache/cnnlib/recorded-runs), so a stopped run continues where it left off
when the command runs again.
"""
import argparse
import os
import pathlib
import sys
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (notebook, recipe name, overrides, seeds, rates, training images): each setting is trained at every
# seed and, where rates are given, at every rate (a sweep); rates=None keeps the overrides' or the
# recipe's rate. Training images: None for the whole subset, n for cifar.held_out(n) as the notebook
# trains (the first n training images; every other image is the test split).
FIVE_SEEDS = range(5)
SWEEP_SEED = 100  # cnnlib.recipes.sweep's: a rate is not chosen on the seeds it is judged by
DEEP_RATES = (0.003, 0.01, 0.03, 0.1, 0.3)  # notebook 01's RATES
RACE_RATES = (0.03, 0.1, 0.3)  # notebook 01's RACE_RATES
RACE = {"epochs": 40}  # notebook 01's RACE


@dataclass(frozen=True)
class Best:
    """The best rate of a sweep, read from the shipped records once the sweep is published."""

    rates: tuple
    value: object  # as cnnlib.recipes.sweep takes it
    higher_is_better: bool = True


def race_value(record):
    from cnnlib import scores

    return scores.epochs_to(0.25)(record)


ACTIVATIONS = ("sigmoid", "tanh", "relu")
RUNS = [
    # 01: each deep network's sweep, then five seeds at its best rate; the same for AlexNet's Fig. 1 race
    *[("01_activations", f"deep_plain_{a}", {}, [SWEEP_SEED], DEEP_RATES, None) for a in ACTIVATIONS],
    *[("01_activations", f"deep_plain_{a}", {}, FIVE_SEEDS, Best(DEEP_RATES, "train_score"), None)
      for a in ACTIVATIONS],
    *[("01_activations", f"alexnet_fig1_{a}", RACE, [SWEEP_SEED], RACE_RATES, None) for a in ("tanh", "relu")],
    *[("01_activations", f"alexnet_fig1_{a}", RACE, FIVE_SEEDS, Best(RACE_RATES, race_value, False), None)
      for a in ("tanh", "relu")],
    # 05: the spread of each network's training and test error at the quick setting
    *[("05_resnet", name, {}, FIVE_SEEDS, None, None) for name in ("plain20", "plain56", "resnet20", "resnet56")],
    # 02: the spread of the three variants trained by default, and the two the notebook reads
    *[("02_alexnet", name, {}, FIVE_SEEDS, None, 500)
      for name in ("alexnet", "alexnet_no_dropout", "alexnet_no_augment")],
    *[("02_alexnet", name, {}, FIVE_SEEDS, None, 500) for name in ("alexnet_no_lrn", "alexnet_no_overlap")],
]


def side_by_side():
    """Notebook 07's side by side: every architecture at one budget (cnnlib.recipes.SIDE_BY_SIDE)."""
    from cnnlib import recipes

    return [("07_four_tasks", j.name, j.overrides, [j.seed], None, None) for j in recipes.side_by_side_jobs()]


def jobs():
    """(notebook, training images, Job) for every run to train; the seeds at a sweep's best rate
    only once that sweep is shipped (`main` publishes and asks again)."""
    from cnnlib import recipes

    found = []
    for notebook, name, overrides, seeds, rates, train_images in RUNS + side_by_side():
        if isinstance(rates, Best):
            best = recipes.sweep(name, rates.rates, rates.value, "quick", seed=SWEEP_SEED,
                                 higher_is_better=rates.higher_is_better, **overrides).best
            if best is None:
                continue
            rates = [best]
        for lr in rates or [None]:
            changes = {**overrides, **({"lr": lr} if lr is not None else {})}
            found += [(notebook, train_images, recipes.job(name, seed, **changes)) for seed in seeds]
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=pathlib.Path, default=None,
                        help="where the runs go (default ~/.cache/cnnlib/recorded-runs)")
    parser.add_argument("--no-publish", action="store_true")
    args = parser.parse_args(argv)
    from cnnlib import config

    folder = (args.results or config.data_folder() / "recorded-runs").expanduser().resolve()
    os.environ["CNNLIB_RESULTS"] = str(folder)
    from cnnlib import data, recipes, results

    cifar = data.load_cifar10("embedded", mode="quick")
    done = set()
    while True:  # the seeds at a sweep's best rate appear once the sweep is published
        todo = [(n, t, j) for n, t, j in jobs() if repr((n, t, j)) not in done]
        if not todo:
            break
        for notebook, train_images in dict.fromkeys((n, t) for n, t, _ in todo):
            mine = [job for n, t, job in todo if (n, t) == (notebook, train_images)]
            split = cifar.held_out(train_images) if train_images else cifar
            for run in recipes.run_all(mine, split, "quick", notebook=notebook, score_training=True, progress=False):
                print(f"{run.name}: test accuracy {run.history.final['test_acc']:.1%}, training accuracy "
                      f"{run.history.meta['train_score']['accuracy']:.1%}", flush=True)
        done.update(repr(entry) for entry in todo)
        if args.no_publish:
            break
        for path in results.publish("quick", "cpu", folder / "quick-cpu"):
            print(f"published {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
