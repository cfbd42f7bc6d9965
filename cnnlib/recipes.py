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
"""
import dataclasses
from dataclasses import dataclass, field
from typing import Optional

import torch.nn as nn

from . import config, models, results, train
from .train import checkpoints, distributed, estimate


@dataclass(frozen=True)
class Recipe:
    model: str
    mode: str
    epochs: int
    batch_size: int
    lr: float
    options: dict = field(default_factory=dict)
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    augment: bool = True
    schedule: str = "linear"
    precision: str = "auto"
    test_flip: bool = False  # score the test split with flip test-time augmentation
    evaluate_every: int = 1  # score the test split after every this many epochs (and after the last)
    name: str = ""  # the recipe's name in RECIPES, set there

    def fit_options(self):
        """The keyword arguments of cnnlib.train.fit."""
        return dict(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                    weight_decay=self.weight_decay, label_smoothing=self.label_smoothing,
                    augment=self.augment, schedule=self.schedule, precision=self.precision,
                    test_flip=self.test_flip, evaluate_every=self.evaluate_every)

    def replace(self, **changes):
        """A copy with some fields changed; options are merged, not replaced."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"a Recipe has no field {', '.join(sorted(unknown))}; the fields are "
                            f"{', '.join(f.name for f in dataclasses.fields(self))}")
        if "options" in changes:
            changes["options"] = {**self.options, **changes["options"]}
        return dataclasses.replace(self, **changes)

    def changes(self):
        """What differs from the standard recipe of the same name and mode, as "field=value" strings."""
        standard = RECIPES.get(self.name, {}).get(self.mode)
        if standard is None:
            return ["custom"]
        changed = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
                   if f.name != "options" and getattr(self, f.name) != getattr(standard, f.name)]
        for key in sorted(set(self.options) | set(standard.options)):
            if self.options.get(key) != standard.options.get(key):
                changed.append(f"{key}={self.options.get(key)!r}")
        return [c.replace("'", "") for c in changed]

    def record_name(self, seed=0):
        """The name a run of this recipe is recorded under: the recipe's name,
        plus every setting changed from the standard recipe and a seed other than 0."""
        changed = self.changes() + ([f"seed={seed}"] if seed else [])
        return f"{self.name} [{', '.join(changed)}]" if changed else self.name

    def to_dict(self):
        return dataclasses.asdict(self)


def _pair(model, quick, full, **shared):
    """A recipe in both modes; `quick` and `full` hold what differs between them."""
    def build(mode, values):
        values = {**shared, **values}
        values["options"] = {**shared.get("options", {}), **values.get("options", {})}
        return Recipe(model=model, mode=mode, **values)
    return {"quick": build("quick", quick), "full": build("full", full)}


def _plain(activation, depth):
    # No augmentation or weight decay, as in AlexNet's Fig. 1 ("No regularization
    # of any kind was employed"), and a constant learning rate (the paper states
    # no schedule): the speed of training is then the activation's, not the
    # schedule's or the regularizer's. The paper chose each network's learning
    # rate independently; notebook 01 sweeps it per activation and overrides lr
    # (the lr here is what a run takes without a sweep). float32 on every
    # device: through 12 sigmoid layers fp16 gradients can underflow to zero.
    return _pair(
        "cifar_deep_plain",
        quick=dict(epochs=6, batch_size=64, options=dict(width=8 if depth > 4 else 16)),
        full=dict(epochs=15, batch_size=128, options=dict(width=32)),
        lr=0.01 if depth > 4 else 0.05, weight_decay=0.0, schedule="constant", augment=False,
        precision="fp32", options=dict(depth=depth, activation=activation),
    )


def _alexnet(**options):
    return _pair(
        "cifar_alexnet",
        # quick: notebook 02 trains on 500 images and tests on the other 3,500 of the subset; 60
        # epochs (940 steps) let the variant without augmentation fit nearly every training image,
        # the regime in which augmentation and dropout show what they prevent.
        quick=dict(epochs=60, batch_size=32, lr=0.03, evaluate_every=20, options=dict(width=16)),
        full=dict(epochs=30, batch_size=256, lr=0.05, options=dict(width=64)),
        options=options,
    )


def _resnet(model):
    # Quick: batches of 16 give the most steps per second on two CPU cores, and 4 epochs (750
    # steps) are what plain-56 needs to leave chance, so that notebook 05 compares the training
    # errors of four networks that learned (about 150 s for the four; the notebook says why).
    # Full: 60 epochs with label smoothing and flip test-time augmentation, the same for the plain
    # twins so the four compare; benchmarks/device_run's TARGETS hold it to the paper's numbers.
    return _pair(
        model,
        quick=dict(epochs=4, batch_size=16, lr=0.03, options=dict(width=8)),
        full=dict(epochs=60, batch_size=256, lr=0.2, label_smoothing=0.1, test_flip=True, options=dict(width=16)),
    )


_RECIPES = {
    "baseline": _pair(
        "cifar_baseline",
        quick=dict(epochs=8, batch_size=64, lr=0.05, options=dict(width=16)),
        full=dict(epochs=20, batch_size=256, lr=0.2, options=dict(width=64)),
    ),
    "deep_plain_sigmoid": _plain("sigmoid", depth=12),
    "deep_plain_tanh": _plain("tanh", depth=12),
    "deep_plain_relu": _plain("relu", depth=12),
    "alexnet_fig1_tanh": _plain("tanh", depth=4),
    "alexnet_fig1_relu": _plain("relu", depth=4),
    "alexnet": _alexnet(),
    "alexnet_no_lrn": _alexnet(lrn=False),
    "alexnet_no_overlap": _alexnet(overlapping_pool=False),
    "alexnet_no_dropout": _alexnet(dropout=0.0),
    "alexnet_no_augment": {mode: r.replace(augment=False) for mode, r in _alexnet().items()},
    "vgg11": _pair(
        "cifar_vgg11",
        quick=dict(epochs=6, batch_size=64, lr=0.05, options=dict(width=16)),
        full=dict(epochs=30, batch_size=256, lr=0.1, options=dict(width=64)),
    ),
    "vgg16": _pair(
        "cifar_vgg16",
        quick=dict(epochs=10, batch_size=64, lr=0.05, options=dict(width=16)),
        # Full: label smoothing 0.1 and flip test-time augmentation (as the ResNets').
        full=dict(epochs=40, batch_size=256, lr=0.1, label_smoothing=0.1, test_flip=True, options=dict(width=64)),
    ),
    "googlenet": _pair(
        "cifar_googlenet",
        # Quick: on a CPU the many thin branches at 32x32 cost about 10x more time per
        # multiply-add than a plain CNN (see notebook 04 for its time).
        quick=dict(epochs=3, batch_size=64, lr=0.1, options=dict(width=24)),
        full=dict(epochs=30, batch_size=256, lr=0.1, label_smoothing=0.1, test_flip=True, options=dict(width=192)),
    ),
    "plain20": _resnet("cifar_plain20"),
    "plain56": _resnet("cifar_plain56"),
    "resnet20": _resnet("cifar_resnet20"),
    "resnet56": _resnet("cifar_resnet56"),
    "densenet_bc": _pair(
        "cifar_densenet_bc",
        quick=dict(epochs=5, batch_size=64, lr=0.1, options=dict(depth=22, growth_rate=6)),
        # Full: batch 256 with the rate scaled to 0.2 (DenseNet-BC's many small layers are
        # launch-bound on a GPU at batch 128), 60 epochs of the paper's 300.
        full=dict(epochs=60, batch_size=256, lr=0.2, label_smoothing=0.1, test_flip=True,
                  options=dict(depth=100, growth_rate=12)),
        weight_decay=1e-4,
    ),
}


RECIPES = {name: {mode: dataclasses.replace(recipe, name=name) for mode, recipe in pair.items()}
           for name, pair in _RECIPES.items()}

# Notebook 07's side by side: one model of each architecture at one budget (the same 3,000
# images, epochs and batch), each at its quick recipe's width and learning rate.
SIDE_BY_SIDE = ("baseline", "alexnet", "vgg16", "googlenet", "resnet20", "resnet56", "densenet_bc")
SIDE_BY_SIDE_BUDGET = dict(epochs=10, batch_size=64, evaluate_every=10)


def names():
    return sorted(RECIPES)


def get(name, mode=None):
    """The recipe `name` for `mode` (default: the current mode)."""
    mode = config.get_mode(mode, warn=False)
    try:
        return RECIPES[name][mode]
    except KeyError:
        raise KeyError(f"no recipe named {name!r}; the recipes are: {', '.join(names())}") from None




@dataclass
class Run:
    """One trained recipe: its model, History, the recipe as used, the seed,
    the name it is recorded under and the record (None when not recorded)."""

    name: str
    recipe: Recipe
    model: nn.Module
    history: train.History
    seed: int = 0
    record: Optional[dict] = None

    def __repr__(self):
        return f"Run({self.name!r}: {self.history!r})"


def build(recipe, seed=0):
    """The untrained model of `recipe` (a Recipe), its weights drawn from `seed`: what `run` trains."""
    config.seed_everything(seed)
    return models.create(recipe.model, **recipe.options)


def run(name, cifar, seed=0, mode=None, *, record=True, notebook=None, checkpoint="auto", resume=True,
        checkpoint_minutes=10, on_epoch=None, score_training=False, progress=True, verbose=True, announce=None,
        **overrides):
    """Build the recipe `name` for `mode`, train it on `cifar` with `seed`, and record the result.

    `overrides` change the recipe's fields (epochs=3, lr=0.1, options={"width": 8}, ...);
    a changed recipe is recorded under its own name (see Recipe.record_name).
    checkpoint: "auto" saves the run's state after every epoch beside its record
    (results.checkpoint_file; only for recorded runs), a path saves it there,
    None saves nothing. resume: continue from that checkpoint where a run
    was stopped or killed, and load a finished run instead of training it
    again; resume=False trains from the start and replaces the checkpoint.
    announce: say how long it will take before it starts (default: when verbose; see `plan`).
    score_training: after training, score the training split without augmentation (what a
    claim about training error compares); kept in history.meta["train_score"] and the record.
    Returns a Run. If training is stopped, the Run holds what finished.
    """
    recipe = get(name, mode).replace(**overrides)
    label = recipe.record_name(seed)
    if (verbose if announce is None else announce) and distributed.size() == 1:
        print(plan([Job(name, seed, overrides)], cifar, recipe.mode, record=record and checkpoint == "auto",
                   resume=resume))
    if checkpoint == "auto":
        checkpoint = results.checkpoint_file(label, recipe.mode, cifar.device) if record else None
        if checkpoint is not None and distributed.is_main():
            _say_where_checkpoints_go(checkpoint.parent)
    model = build(recipe, seed)
    history = train.fit(model, cifar, name=label, progress=progress, verbose=verbose, on_epoch=on_epoch,
                        checkpoint=checkpoint, resume=resume and checkpoint is not None,
                        checkpoint_minutes=checkpoint_minutes,
                        identity={"recipe": recipe.to_dict(), "seed": seed}, **recipe.fit_options())
    history.meta.update(recipe=name, mode=recipe.mode, seed=seed)
    if score_training and history.epoch:
        score = train.evaluate(model, cifar, split="train", precision=recipe.precision)
        history.meta["train_score"] = {"loss": score.loss, "accuracy": score.accuracy,
                                       "images": len(cifar.train_labels)}
    recorded = record and distributed.is_main()  # with several processes, rank 0 records the run once
    entry = results.record(recipe, model, history, seed=seed, notebook=notebook) if recorded else None
    return Run(label, recipe, model, history, seed, entry)


@dataclass(frozen=True)
class Job:
    """One run to train: a recipe's name, a seed and the settings changed from the recipe."""

    name: str
    seed: int = 0
    overrides: dict = field(default_factory=dict)

    def recipe(self, mode=None):
        return get(self.name, mode).replace(**self.overrides)


def job(name, seed=0, **overrides):
    return Job(name, seed, overrides)


def side_by_side_jobs():
    """The runs of notebook 07's side by side (SIDE_BY_SIDE at SIDE_BY_SIDE_BUDGET), in quick mode."""
    return [Job(name, 0, dict(SIDE_BY_SIDE_BUDGET)) for name in SIDE_BY_SIDE]


def recorded(job_, mode=None, label=None, recipe=None):
    """The shipped reference record of a job (its recipe, overrides and seed), or None; a record
    of the same name made with other settings (an older recipe) is not this job's. recipe: the
    recipe itself (a run's, overrides applied) instead of the job's name and overrides."""
    recipe = recipe or job_.recipe(mode)
    return _matching(results.reference(recipe.record_name(job_.seed), label or recipe.mode), recipe)


def _matching(record, recipe):
    return record if record is not None and record.get("recipe") == recipe.to_dict() else None


def _value(record, value):
    """A record's field ("test_acc"), "train_score" (its unaugmented training split's accuracy),
    or what a function of the record returns (epochs to a target error, say)."""
    if callable(value):
        return value(record)
    return record["train_score"]["accuracy"] if value == "train_score" else record[value]


def seed_spread(job_, value, mode=None, seeds=range(5), label=None):
    """The Spread (cnnlib.claims) of one value across the seeds of a job's setting, from the
    shipped reference records of those seeds (scripts/recorded_runs.py trains and ships them), or
    None where fewer than two are shipped. value: as in `_value`."""
    return spread_of(job_.recipe(mode), value, seeds, label)


def spread_of(recipe, value, seeds=range(5), label=None):
    """As `seed_spread`, for a Recipe (a run's `recipe`, overrides applied)."""
    from .claims import Spread

    records = (_matching(results.reference(recipe.record_name(s), label or recipe.mode), recipe) for s in seeds)
    found = [_value(r, value) for r in records if r is not None and (value != "train_score" or r.get("train_score"))]
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


def run_all(jobs, cifar, mode=None, **options):
    """Say how long the runs will take, then train each (options as for `run`); a list of Runs.
    `jobs`: Jobs, or {recipe name: overrides} for one seed (options' `seed`, default 0)."""
    if isinstance(jobs, dict):
        seed = options.pop("seed", 0)
        jobs = [Job(name, seed, overrides) for name, overrides in jobs.items()]
    print(plan(jobs, cifar, mode, record=options.get("record", True), resume=options.get("resume", True)))
    return [run(j.name, cifar, seed=j.seed, mode=mode, announce=False, **options, **j.overrides) for j in jobs]


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


_told = set()


def _say_where_checkpoints_go(folder):
    if folder not in _told:
        _told.add(folder)
        print(f"checkpoints after every epoch: {config.shown(folder)} (a rerun continues from them; "
              f"${results.RESULTS_VARIABLE} moves them with the records)")
