"""How long a cell's runs will take on this machine, said before they start."""
from dataclasses import dataclass
from typing import Optional

from .. import results
from ..train import checkpoints, estimate
from .settings import build


@dataclass
class Plan:
    """The time each job of a cell will take on this machine, from one probe per model."""

    jobs: list
    seconds: list
    loaded: list        # True: a finished checkpoint exists, nothing to train
    device: object
    epochs: Optional[int]

    @property
    def total(self):
        return sum(self.seconds)

    def __str__(self):
        trained = [(j, t) for j, t, done in zip(self.jobs, self.seconds, self.loaded) if not done]
        loaded = len(self.jobs) - len(trained)
        where = estimate.machine(self.device)
        if not trained:
            return f"Nothing to train: the {loaded} run{'s' * (loaded != 1)} of this cell finished before (loaded from checkpoints)."
        runs = f"{len(trained)} run{'s' * (len(trained) != 1)}"
        parts = ", ".join(f"{_label(j)} {estimate.duration(t)}" for j, t in trained[:6])
        parts += ", ..." if len(trained) > 6 else ""
        line = (f"This cell trains {runs}: about {estimate.duration(self.total)} on {where} ({parts})"
                + (f"; {loaded} finished before and {'is' if loaded == 1 else 'are'} loaded" if loaded else "")
                + ". Set EPOCHS to shorten it.")
        return line + estimate.shorten_hint(self.total, self.device, self.epochs)


def _label(job_):
    return job_.name + (f" (seed {job_.seed})" if job_.seed else "")


def plan(jobs, cifar, mode=None, record=True, resume=True):
    """How long `jobs` (a list of Job) take on `cifar`'s device: one probe per model and batch size."""
    probes, seconds, loaded = {}, [], []
    for j in jobs:
        recipe = j.recipe(mode)
        done = _done_fraction(recipe, j.seed, cifar) if record and resume else 0.0
        loaded.append(done >= 1)
        if done >= 1:
            seconds.append(0.0)
            continue
        key, model = estimate.probe_key(recipe), build(recipe, j.seed)
        macs = None
        if key in probes:
            macs = estimate.multiply_adds(model)
        else:
            probes[key] = estimate.probe(model, cifar, recipe.batch_size, recipe.precision, recipe.augment,
                                         recipe.label_smoothing)
        steps = len(cifar.train_labels) // recipe.batch_size
        seconds.append(estimate.seconds(probes[key], recipe.epochs, steps, recipe.batch_size,
                                        len(cifar.test_labels), recipe.test_flip, done, macs, recipe.evaluate_every))
    epochs = {j.recipe(mode).epochs for j in jobs}
    return Plan(list(jobs), seconds, loaded, cifar.device, max(epochs) if epochs else None)


def _done_fraction(recipe, seed, cifar):
    """How much of a run its checkpoint already holds (0 without one, 1 when it finished)."""
    path = results.checkpoint_file(recipe.record_name(seed), recipe.mode, cifar.device)
    try:
        saved = checkpoints.load_latest(path, say=lambda line: None)
    except checkpoints.CheckpointError:
        return 0.0
    if saved is None or "training" not in saved:
        return 0.0
    if not saved["history"].interrupted:
        return 1.0
    total = recipe.epochs * (len(cifar.train_labels) // recipe.batch_size)
    return min(1.0, saved["training"]["step"] / max(total, 1))
