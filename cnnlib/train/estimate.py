"""How long a training will take on this machine, said before it starts.

A probe trains a copy of the model for a few steps at the run's batch size on
real batches, and scores a slice of the test split, on the device that will
train it. From its seconds and the model's multiply-adds (cnnlib.arith) it
knows how many multiply-adds per second this machine does for this model; the
rate is measured per model, not assumed, because it differs many times over
between models (GoogLeNet's thin branches on a CPU do a tenth of what VGG's
wide convolutions do). The run's multiply-adds divided by that rate, epoch by
epoch, is the estimate. The probe works on a copy, inside its own random
state, so the run it estimates is the same as without it.
"""
import copy
import math
import time
from dataclasses import dataclass

import torch

from .. import arith
from . import loop
from .precision import autocast_dtype, gradient_scaler, memory_format, prepare_model
from .cpu import CpuShare

PROBE_SECONDS = 0.3  # at least this long, and at least MIN_STEPS steps, after the warm-up
MIN_STEPS, MAX_STEPS = 2, 20
PROBE_TEST_IMAGES = 250
LONG_MINUTES = 20    # a cell longer than this on a GPU says so before it starts, and how to shorten it


@dataclass(frozen=True)
class Probe:
    """What a few timed steps of one model showed."""

    multiply_adds: int       # one forward pass of one 32x32 image
    train_rate: float        # multiply-adds per second while training (forward and backward: 3 forwards)
    eval_rate: float         # multiply-adds per second while scoring the test split
    epoch_overhead: float    # seconds per epoch for drawing the epoch's crops and flips
    steps: int


def probe(model, cifar, batch_size, precision="auto", augment=True, label_smoothing=0.0):
    """Time a few training steps of a copy of `model` on `cifar`'s device."""
    device = cifar.device
    cpu = CpuShare() if device.type == "cpu" else None  # as fit shares the cores, so does its probe
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            return _probe(model, cifar, batch_size, precision, augment, label_smoothing, device, cpu)
    finally:
        if cpu is not None:
            cpu.restore()


def _probe(model, cifar, batch_size, precision, augment, label_smoothing, device, cpu):
    model = prepare_model(copy.deepcopy(model), device)
    macs = multiply_adds(model)
    dtype = autocast_dtype(device, precision)
    scaler = gradient_scaler(device, dtype)
    optimizer = loop.sgd(model, 1e-3)
    batches = cifar.train_batches(batch_size, augment=augment, memory_format=memory_format(device))
    start = _now(device)
    first = batches.iterate()  # draws the epoch's crops and flips now
    epoch_overhead = _now(device) - start
    batches_ = _endless(first, batches)
    model.train()
    for _ in range(3 if device.type == "cuda" else 1):  # warm-up: cuDNN's autotuning, first allocations
        loop.training_step(model, optimizer, *next(batches_), dtype, scaler, label_smoothing)
    if cpu is not None:
        cpu.adapt()
    steps, start = 0, _now(device)
    while steps < MAX_STEPS and (steps < MIN_STEPS or _now(device) - start < PROBE_SECONDS):
        loop.training_step(model, optimizer, *next(batches_), dtype, scaler, label_smoothing)
        steps += 1
    train_seconds = (_now(device) - start) / steps
    scored = min(len(cifar.test_labels), PROBE_TEST_IMAGES)
    start = _now(device)
    loop.evaluate(model, cifar.subset(test=scored), precision=precision)
    eval_seconds = (_now(device) - start) / scored
    return Probe(macs, 3 * macs * batch_size / train_seconds, macs / eval_seconds, epoch_overhead, steps)


def _endless(first, batches):
    yield from first
    while True:
        yield from batches.iterate()


def _now(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def seconds(probe_, epochs, steps_per_epoch, batch_size, test_images, test_flip=False, done_fraction=0.0,
            multiply_adds=None, evaluate_every=1):
    """The seconds a run of this size takes, from a probe of its model (or of a model of the same
    family, such as ResNet-20 for ResNet-56, with this one's `multiply_adds` per image)."""
    macs = multiply_adds or probe_.multiply_adds
    training = 3 * macs * batch_size * steps_per_epoch / probe_.train_rate + probe_.epoch_overhead
    scoring = (2 if test_flip else 1) * macs * test_images / probe_.eval_rate
    evaluations = sum(1 for e in range(1, epochs + 1) if e % evaluate_every == 0 or e == epochs)
    return (epochs * training + evaluations * scoring) * (1 - done_fraction)


def duration(seconds_):
    """Seconds as a learner reads them: '45 s', '3.5 minutes', '2.1 hours'."""
    if seconds_ < 0.5:
        return "under a second"
    if seconds_ < 90:
        return f"{seconds_:.0f} s"
    if seconds_ < 90 * 60:
        return f"{seconds_ / 60:.1f} minutes"
    return f"{seconds_ / 3600:.1f} hours"


def machine(device):
    """'this CPU (2 threads)' or 'this Tesla T4 (fp16)'."""
    device = torch.device(device)
    if device.type == "cuda":
        dtype = autocast_dtype(device)
        return f"this {torch.cuda.get_device_name(device)} ({str(dtype).replace('torch.', '') if dtype else 'fp32'})"
    return f"this CPU ({torch.get_num_threads()} threads)"


def shorten_hint(total, device, epochs):
    """What to do when a cell would be long: on a GPU past LONG_MINUTES (or a full-mode CPU run), how many
    epochs fit in that time."""
    if total <= 60 * LONG_MINUTES or epochs is None:
        return ""
    fit = max(1, math.floor(epochs * 60 * LONG_MINUTES / total))
    where = "" if torch.device(device).type == "cuda" else "; on a CPU, quick mode (MODE = \"quick\") is the one meant for it"
    return (f" That is long for one sitting: EPOCHS = {fit} in the parameters cell would take about "
            f"{LONG_MINUTES} minutes (a shorter run is recorded under its own name){where}.")


def probe_key(recipe):
    """Runs of one model family (a name up to its depth: cifar_resnet20 and cifar_resnet56), with the same
    options, batch and precision, do about as many multiply-adds per second: they share one probe."""
    return (recipe.model.rstrip("0123456789"), repr(sorted(recipe.options.items())), recipe.batch_size,
            recipe.precision, recipe.augment)


def multiply_adds(model):
    """One forward pass of one 32x32 image."""
    return arith.parameter_table(model, (3, 32, 32)).total_multiply_adds
