"""Runs shipped with the course (scripts/recorded_runs.py), read instead of trained again:
a job's record, the spread of its seeds, a learning-rate sweep."""
from dataclasses import dataclass
from typing import Optional

from .. import results
from ..noise import Spread
from .running import run
from .settings import Job


def recorded(job_, mode=None, label=None):
    """The shipped reference record of a job (its recipe, overrides and seed), or None; a record
    of the same name made with other settings (an older recipe) is not this job's."""
    return seed_records(job_.recipe(mode), [job_.seed], label).get(job_.seed)


def seed_records(recipe, seeds=range(5), label=None):
    """{seed: shipped record} for those of `seeds` whose run of `recipe` (a Recipe, overrides
    applied) ships with the course, made with these very settings."""
    found = {seed: results.reference(recipe.record_name(seed), label or recipe.mode) for seed in seeds}
    return {seed: record for seed, record in found.items()
            if record is not None and record.get("recipe") == recipe.to_dict()}


def _value(record, value):
    """A record's field ("test_acc"), "train_score" (its unaugmented training split's accuracy),
    or what a function of the record returns (epochs to a target error, say)."""
    if callable(value):
        return value(record)
    return record["train_score"]["accuracy"] if value == "train_score" else record[value]


def seed_spread(job_, value, mode=None, seeds=range(5), label=None):
    """The Spread (cnnlib.noise) of one value across the seeds of a job's setting, from the
    shipped reference records of those seeds (scripts/recorded_runs.py trains and ships them), or
    None where fewer than two are shipped. value: as in `_value`."""
    return spread_of(job_.recipe(mode), value, seeds, label)


def spread_of(recipe, value, seeds=range(5), label=None):
    """As `seed_spread`, for a Recipe (a run's `recipe`, overrides applied)."""
    found = [_value(r, value) for r in seed_records(recipe, seeds, label).values()
             if value != "train_score" or r.get("train_score")]
    if len(found) < 2:
        return None
    return Spread.of(found, source=f"{len(found)} seeds of {recipe.record_name()}, shipped records")


@dataclass(frozen=True)
class Sweep:
    """A learning-rate sweep read from shipped records: the value at each rate, the best rate, and
    whether the best is bracketed (a rate on either side was tried), as a sweep must be."""

    values: dict  # {lr: value}, for the rates whose run is shipped
    best: Optional[float]
    bracketed: bool


def sweep(name, rates, value, mode=None, seed=100, higher_is_better=True, label=None, cifar=None, **overrides):
    """The recorded sweep of recipe `name` over `rates` (seed 100 by default: not the seeds the
    compared runs train with, so a rate is not chosen on the runs it is judged by). value: as in
    `_value`. cifar: train here, and record, the rates that no shipped record has (a learner's
    changed setting); without it they are left out."""
    values = {}
    for lr in rates:
        job_ = Job(name, seed, {**overrides, "lr": lr})
        record = recorded(job_, mode, label)
        if record is None and cifar is not None:
            record = run(name, cifar, seed=seed, mode=mode, score_training=True, progress=False, verbose=False,
                         **job_.overrides).record
        if record is not None:
            values[lr] = _value(record, value)
    if not values:
        return Sweep({}, None, False)
    best = (max if higher_is_better else min)(values, key=values.get)
    tried = sorted(values)
    return Sweep(values, best, tried[0] < best < tried[-1])
