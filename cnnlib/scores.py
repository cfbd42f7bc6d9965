"""A trained run's scores, as an experiment row of a claim check compares them.

    plain56 = scores.of(runs["plain56"], "train_error")   # a Score: the rate, its images, its seed spread
    scores.versus(plain56, plain20)                         # the difference under the noise rule
    scores.versus_seeds(scores.of_seeds(runs["plain56"], "train_error"), ...)   # five seeds' means

A Score is one run's rate (an accuracy or an error) with the number of
images it was measured on and, where the course ships the records of several
seeds of the same setting, their spread (recipes.spread_of): with it one
seed of a setting can decide under the noise rule (cnnlib.claims), without
it the binomial noise alone is counted. Where one seed's spread is too wide
for one run to decide, `of_seeds` takes the mean of this run and the other
seeds shipped with the course.

The rates:
    train_error, train_acc   the training split scored after training, without
                             augmentation (recipes.run(score_training=True))
    test_error, test_acc     the test split after the last epoch
"""
import math
from dataclasses import dataclass
from typing import Optional

from . import claims, recipes

RATES = ("train_error", "train_acc", "test_error", "test_acc")
CHANCE = 0.9  # the error of a guess among CIFAR-10's ten classes


@dataclass(frozen=True)
class Score:
    name: str       # the run's recorded name
    rate: str       # one of RATES
    value: float
    images: int
    spread: Optional[claims.Spread] = None

    def __str__(self):
        return f"{self.value:.1%}"


def of(run, rate, spreads=True):
    """The Score `rate` of a recipes.Run; spreads: look up the seed spread shipped for its setting."""
    if rate not in RATES:
        raise ValueError(f"unknown rate {rate!r}: use one of {', '.join(RATES)}")
    history = run.history
    if rate.startswith("train"):
        score = history.meta.get("train_score")
        if score is None:
            raise ValueError(f"{run.name} was not scored on its training split: train it with "
                             "recipes.run(..., score_training=True)")
        accuracy, images = score["accuracy"], score["images"]
    else:
        accuracy, images = history.final["test_acc"], history.meta["test_images"]
    spread = recipes.spread_of(run.recipe, _recorded_as(rate)) if spreads else None
    return Score(run.name, rate, _from_accuracy(accuracy, rate), images, spread)


def _recorded_as(rate):
    """Where a record keeps the accuracy behind `rate` (as recipes.spread_of reads it)."""
    return "train_score" if rate.startswith("train") else "test_acc"


def _from_accuracy(accuracy, rate):
    return 1 - accuracy if rate.endswith("error") else accuracy


@dataclass(frozen=True)
class Seeds:
    """One rate of a setting over several seeds: this run's and the shipped records' of the others."""

    name: str
    rate: str
    values: tuple
    images: int

    @property
    def mean(self):
        return sum(self.values) / len(self.values)

    def __str__(self):
        return f"{self.mean:.1%}"


def of_seeds(run, rate, seeds=range(5)):
    """The rate `rate` of a run and of the other seeds of its setting that ship with the course
    (this run's seed is its own value, measured now): where one seed's spread is too wide for one
    run to decide, the mean of several can."""
    mine = of(run, rate, spreads=False)
    shipped = recipes.seed_records(run.recipe, seeds)
    values = []
    for seed in seeds:
        if seed == run.seed:
            values.append(mine.value)
        elif seed in shipped and (shipped[seed].get("train_score") or not rate.startswith("train")):
            values.append(of_record(shipped[seed], rate).value)
    return Seeds(run.name, rate, tuple(values), mine.images)


def versus_seeds(claimed, other):
    """As `versus`, for the means of several seeds (claims.compare with each side's seeds)."""
    return claims.compare(claimed.mean, other.mean, claimed.images, other.images,
                          seeds=claimed.values if len(claimed.values) > 1 else None,
                          seeds_other=other.values if len(other.values) > 1 else None)


def epochs_to(error):
    """A function of a record: the first epoch whose training error (the running error over the
    epoch, as AlexNet's Fig. 1 plots it) is at most `error`; infinity when no epoch gets there."""
    def epochs(record):
        return next((i + 1 for i, accuracy in enumerate(record["history"]["train_acc"]) if 1 - accuracy <= error),
                    math.inf)
    return epochs


def of_record(record, rate):
    """The Score `rate` of a recorded run (a record of cnnlib.results, e.g. a shipped reference's)."""
    if rate.startswith("train"):
        accuracy, images = record["train_score"]["accuracy"], record["train_score"]["images"]
    else:
        accuracy, images = record["test_acc"], record["test_images"]
    return Score(record["name"], rate, _from_accuracy(accuracy, rate), images)


def versus(claimed, other):
    """claimed minus other under the noise rule (claims.compare), with both sides' seed spreads:
    pass the side the claim expects to be larger first. Two runs' rates, or one run's training and
    test accuracy (its train-test gap)."""
    if claimed.rate.split("_")[1] != other.rate.split("_")[1]:
        raise ValueError(f"cannot compare {claimed.rate} with {other.rate}: compare accuracies or errors")
    return claims.compare(claimed.value, other.value, claimed.images, other.images,
                          spread=claimed.spread, spread_other=other.spread)


def above_chance(score):
    """How far a training or test error lies below chance (90 %), as a Difference: positive and
    decided means the network has learned something, by the noise rule."""
    if not score.rate.endswith("error"):
        raise ValueError("above_chance takes an error rate")
    return claims.compare_to(CHANCE, score.value, score.images, spread=score.spread)
