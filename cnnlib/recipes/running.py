"""From a recipe to a trained, recorded model: `run`, and `run_all` for a cell's runs."""
from dataclasses import dataclass
from typing import Optional

import torch.nn as nn

from .. import config, results, train
from ..train import distributed
from .plans import plan
from .settings import Job, Recipe, build, get


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


def run_all(jobs, cifar, mode=None, **options):
    """Say how long the runs will take, then train each (options as for `run`); a list of Runs.
    `jobs`: Jobs, or {recipe name: overrides} for one seed (options' `seed`, default 0)."""
    if isinstance(jobs, dict):
        seed = options.pop("seed", 0)
        jobs = [Job(name, seed, overrides) for name, overrides in jobs.items()]
    print(plan(jobs, cifar, mode, record=options.get("record", True), resume=options.get("resume", True)))
    return [run(j.name, cifar, seed=j.seed, mode=mode, announce=False, **options, **j.overrides) for j in jobs]


_told = set()


def _say_where_checkpoints_go(folder):
    if folder not in _told:
        _told.add(folder)
        print(f"checkpoints after every epoch: {config.shown(folder)} (a rerun continues from them; "
              f"${results.RESULTS_VARIABLE} moves them with the records)")
