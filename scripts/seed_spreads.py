"""Seed spreads, measured once: the settings whose quick run trains one seed, trained at several.

    python scripts/seed_spreads.py                 # every setting below, 5 seeds, then publish
    python scripts/seed_spreads.py --no-publish

By the course's noise rule one seed decides on a rate only with the spread of
that setting's seeds (cnnlib.claims.Spread): this command trains each setting
below at seeds 0-4 on the embedded subset in quick mode, as the notebook
would (scoring the training split too), and merges the records into the
shipped quick references (cnnlib/references/quick-cpu.json), where
cnnlib.recipes.seed_spread finds them. Its trainings checkpoint after every
epoch in a persistent folder (default ~/.cache/cnnlib/seed-spreads), so a
stopped run continues where it left off when the command runs again.
"""
import argparse
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (notebook, recipe name, overrides): each is a job a notebook trains at one seed.
SETTINGS = []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--results", type=pathlib.Path, default=None,
                        help="where the runs go (default ~/.cache/cnnlib/seed-spreads)")
    parser.add_argument("--no-publish", action="store_true")
    args = parser.parse_args(argv)
    from cnnlib import config

    folder = (args.results or config.data_folder() / "seed-spreads").expanduser().resolve()
    os.environ["CNNLIB_RESULTS"] = str(folder)
    from cnnlib import data, recipes, results

    from cnnlib.claims import Spread

    cifar = data.load_cifar10("embedded", mode="quick")
    for notebook, name, overrides in SETTINGS:
        jobs = [recipes.job(name, seed, **overrides) for seed in range(args.seeds)]
        runs = recipes.run_all(jobs, cifar, "quick", notebook=notebook, score_training=True, progress=False)
        test = Spread.of([r.history.final["test_acc"] for r in runs])
        training = Spread.of([r.history.meta["train_score"]["accuracy"] for r in runs])
        print(f"{runs[0].name}: {args.seeds} seeds, test accuracy sd {100 * test.sd:.2f} points, "
              f"training accuracy sd {100 * training.sd:.2f} points")
    if not args.no_publish:
        for path in results.publish("quick", "cpu", folder / "quick-cpu"):
            print(f"published {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
