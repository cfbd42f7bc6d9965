"""The training loop: fit.

fit() is one plain loop: SGD with Nesterov momentum, a learning rate that
warms up then falls linearly to zero, cross-entropy. On CUDA it adds mixed
precision (bf16 on GPUs of compute capability 8.0 and newer, fp16 with a
gradient scaler on older ones such as Colab's T4) and channels_last.

Nothing a learner does loses work: the stop button (Ctrl-C) ends training
between two steps (stopping.py), keeps the History and the weights, and
skips the rest of the cell's training; a loss that turns inf or NaN stops
training and puts back the last finite weights; running out of GPU memory
keeps the finished epochs and names a batch size to try. With a checkpoint,
a run saves its whole state after every epoch (and every few minutes), and a
run stopped or killed anywhere resumes where the checkpoint left it.
"""
import dataclasses
import datetime
import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import config
from . import checkpoints, distributed, stopping
from .checkpoints import CheckpointError, checkpoint_path
from .cpu import CpuShare
from .evaluation import evaluate
from .history import History
from .precision import autocast, autocast_dtype, gradient_scaler, memory_format, prepare_model


def learning_rate(step, total_steps, peak, warmup=0.15, schedule="linear"):
    """The learning rate at `step`: linear warm-up over `warmup` of the run, then
    linear decay to zero ("linear"), or `peak` throughout ("constant")."""
    if schedule == "constant":
        return peak
    if schedule != "linear":
        raise ValueError(f"unknown schedule {schedule!r}: use 'linear' or 'constant'")
    warmup_steps = max(1, int(warmup * total_steps))
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    return peak * max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def training_step(model, optimizer, images, labels, dtype=None, scaler=None, label_smoothing=0.0):
    """One SGD step on a batch, in mixed precision when `dtype` is set; returns (loss, logits)."""
    with autocast(images.device, dtype):
        logits = model(images)
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss, logits


def sgd(model, lr, momentum=0.9, weight_decay=5e-4):
    """Nesterov SGD; weight decay on weights only (on biases and norm scales it only slows training)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return torch.optim.SGD(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, momentum=momentum, nesterov=momentum > 0,
    )


def fit(model, cifar, epochs, lr, batch_size=128, weight_decay=5e-4, momentum=0.9,
        label_smoothing=0.0, augment=True, schedule="linear", warmup=0.15, precision="auto", test_flip=False,
        evaluate_every=1, on_epoch=None, checkpoint=None, resume=False, checkpoint_minutes=10, identity=None,
        progress=True, verbose=True, name=None):
    """Train `model` on `cifar` (a Cifar10 on the training device) and return a History.

    precision: "auto" (by device, see autocast_dtype) or "fp32", "bf16", "fp16".
    test_flip: score the test split with flip test-time augmentation (see evaluate).
    evaluate_every: score the test split after every this many epochs, and after the last
    (the other epochs' test_loss and test_acc are None): for a test split much larger than
    the training set, where scoring it every epoch would cost more than training.
    on_epoch(history, model) is called after each epoch (for measurements
    during training); what it returns is kept in history.measurements.
    checkpoint: a path where the run's state is saved after every epoch, every
    `checkpoint_minutes` inside an epoch, and when it stops: the weights, the
    optimizer, the gradient scaler, every random state and the History.
    resume: continue from that checkpoint when it exists (a finished run is
    loaded, not trained again); the result is the run that was never stopped,
    bit for bit on the CPU while torch keeps one thread count (another count
    sums a convolution in another order). A checkpoint made with other
    settings, another model or other data is refused, naming the difference.
    identity: more settings that must match to resume (the recipe and seed, say).
    """
    _check_budget(epochs, lr, batch_size, len(cifar.train_labels))
    if resume and checkpoint is None:
        raise ValueError("resume=True needs the checkpoint to continue from: pass checkpoint=PATH")
    checkpoint = checkpoint_path(checkpoint) if checkpoint is not None else None
    label = name or type(model).__name__
    device = cifar.device
    history = History(meta={"model": label, "device": config.device_name(device), "data": cifar.source,
                            "train_images": len(cifar.train_labels), "test_images": len(cifar.test_labels),
                            "epochs": epochs, "lr": lr, "batch_size": batch_size, "precision": precision})
    if stopping.stop_requested():
        history.interrupted = True
        print(f"{label}: not trained, because training was stopped in this cell (run the cell again to train)")
        return history

    settings = checkpoints.plain(dict(
        epochs=epochs, lr=lr, batch_size=batch_size, weight_decay=weight_decay, momentum=momentum,
        label_smoothing=label_smoothing, augment=augment, schedule=schedule, warmup=warmup, precision=precision,
        test_flip=test_flip, evaluate_every=evaluate_every, model=type(model).__name__, data=cifar.fingerprint(), **(identity or {})), "settings")
    processes = distributed.size()
    if processes > 1:
        settings["processes"] = processes
        verbose, progress = verbose and distributed.is_main(), progress and distributed.is_main()
    prepare_model(model, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
    dtype = autocast_dtype(device, precision)
    scaler = gradient_scaler(device, dtype)
    trained = distributed.wrap(model, device)
    optimizer = sgd(model, lr, momentum, weight_decay)
    batches = cifar.train_batches(distributed.share(batch_size) * processes, augment=augment,
                                  memory_format=memory_format(device), generator=_shared_generator(device),
                                  shard=(distributed.rank(), processes))
    total_steps = epochs * len(batches)
    history.steps_per_epoch = len(batches)
    history.meta["autocast"] = str(dtype).replace("torch.", "") if dtype else "float32"
    streams = (device, batches.generator)

    step, partial = 0, None
    saved = checkpoints.load_latest(checkpoint, say=_say) if resume else None
    if saved is not None:
        step, partial = _restore(saved, settings, model, optimizer, scaler, history, label)
        if partial is None:  # at an epoch's end: the next epoch draws from where the last one left off
            checkpoints.restore_random_state(saved["training"]["random"], *streams)
            _separate_dropout_streams(device)
        if _complete(history, epochs):
            _say(f"{label}: already trained ({history.summary()}); loaded from {config.shown(saved['path'])}, not trained "
                 f"again (resume=False trains it again)")
            model.eval()
            return history
        where = f" at its step {partial['steps'] + 1}" if partial else ""
        _say(f"{label}: continuing from the checkpoint {config.shown(saved['path'])}: epoch {len(history) + 1} of {epochs}{where} "
             f"({len(history)} finished epochs kept)")

    fresh = saved is None  # a new run: a file already at the path belongs to another run

    def save(complete=False, in_epoch=None):
        nonlocal fresh
        if checkpoint is None or not distributed.is_main():
            return
        stored = History.from_dict(history.to_dict())
        stored.interrupted = stored.interrupted or not (complete or _complete(history, epochs))
        training = {"settings": settings, "step": step, "partial": in_epoch,
                    "random": checkpoints.random_state(*streams), "optimizer": optimizer.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "saved": datetime.datetime.now().isoformat(timespec="seconds")}
        checkpoints.save_checkpoint(checkpoint, model, stored, training=training, keep_previous=not fresh,
                                    name=label)
        if fresh:
            checkpoints.previous_path(checkpoint).unlink(missing_ok=True)
            fresh = False

    report = _epoch_reporter(epochs) if verbose else (lambda h: None)
    bar = tqdm(total=total_steps, initial=step, desc=label, disable=not progress, leave=False)
    last_finite = _weights_copy(model)
    cpu = CpuShare() if device.type == "cpu" else None
    checked = saved_at = time.perf_counter()
    epoch = len(history)
    try:
        with stopping.stops_between_steps():
            for epoch in range(len(history) + 1, epochs + 1):
                model.train()
                if partial is not None:  # resumed inside this epoch: redraw its batches, then go on
                    current = _Epoch(**partial)
                    checkpoints.restore_random_state(current.epoch_random, *streams)
                    iterator = batches.iterate(skip=current.steps)
                    checkpoints.restore_random_state(saved["training"]["random"], *streams)
                    _separate_dropout_streams(device)
                    partial = None
                else:
                    current = _Epoch(epoch_random=checkpoints.random_state(*streams))
                    iterator = batches.iterate()
                for images, labels in iterator:
                    if cpu is not None and time.perf_counter() - checked >= 1.0:
                        cpu.adapt()  # share the cores with other trainings (see cpu.py)
                        checked = time.perf_counter()
                    rate = learning_rate(step, total_steps, lr, warmup, schedule)
                    for group in optimizer.param_groups:
                        group["lr"] = rate
                    loss, logits = training_step(trained, optimizer, images, labels, dtype, scaler, label_smoothing)
                    # Kept on the device: reading them back each step would stall a GPU.
                    current.add(loss.detach(), (logits.argmax(1) == labels).float().mean())
                    step += 1
                    bar.update()
                    if distributed.anyone(stopping.stop_pending(), device):  # all processes stop at one step
                        save(in_epoch=current.progress())
                        raise stopping.StopRequested
                    if (checkpoint is not None and processes == 1
                            and time.perf_counter() - saved_at >= 60 * checkpoint_minutes):
                        save(in_epoch=current.progress())
                        saved_at = time.perf_counter()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                seconds = current.elapsed()
                step_loss, step_acc = current.step_values()
                start = time.perf_counter()
                score = None
                if epoch == epochs or epoch % evaluate_every == 0:
                    score = evaluate(model, cifar, precision=precision, flip=test_flip) if distributed.is_main() else None
                    score = distributed.from_main(score)
                history.eval_seconds.append(time.perf_counter() - start)
                history.epoch.append(epoch)
                history.train_loss.append(sum(step_loss) / len(step_loss))
                history.train_acc.append(sum(step_acc) / len(step_acc))
                history.test_loss.append(score.loss if score else None)
                history.test_acc.append(score.accuracy if score else None)
                history.lr.append(learning_rate(step - 1, total_steps, lr, warmup, schedule))
                history.seconds.append(seconds)
                history.images_per_second.append(len(step_loss) * batch_size / seconds)
                history.step_loss += step_loss
                history.step_acc += step_acc
                if not (math.isfinite(history.train_loss[-1]) and (score is None or math.isfinite(score.loss))):
                    history.diverged = True
                    model.load_state_dict(last_finite)
                    test = f", test loss {score.loss:.3g}" if score else ""
                    _say(f"{label}: training diverged in epoch {epoch} (train loss {history.train_loss[-1]:.3g}"
                         f"{test}); stopped, and the weights of the last finite epoch "
                         f"({epoch - 1}) are back in the model. A smaller learning rate (lr) usually helps.")
                    save(complete=True)
                    break
                last_finite = _weights_copy(model)
                bar.set_postfix(epoch=epoch, loss=f"{history.train_loss[-1]:.3f}",
                                test_acc=f"{score.accuracy:.1%}" if score else "-")
                report(history)
                if on_epoch is not None:
                    history.measurements.append(checkpoints.plain(on_epoch(history, model), "what on_epoch returned"))
                save()
                saved_at = time.perf_counter()
    except (stopping.StopRequested, KeyboardInterrupt) as stop:
        # After StopRequested the checkpoint holds this very step; after a KeyboardInterrupt (a second
        # press, mid-step) it keeps the last step boundary it saved.
        history.interrupted = True
        stopping.mark_stopped()
        finished = f"{len(history)} finished epoch" + ("s" if len(history) != 1 else "")
        kept = (f"; the checkpoint {config.shown(checkpoint)} continues from step {step}" if isinstance(stop, stopping.StopRequested)
                and checkpoint is not None else "")
        _say(f"{label}: training interrupted after {finished} ({step} steps): the History "
             f"so far and the model's current weights are kept{kept}; the rest of this cell's training is skipped.")
    except torch.cuda.OutOfMemoryError:
        history.out_of_memory = True
        stopping.mark_stopped()
        torch.cuda.empty_cache()
        smaller = max(1, batch_size // 2)
        _say(f"{label}: out of memory on {config.device_name(device)} at batch size {batch_size} in epoch {epoch}: "
             f"the History of the {len(history)} finished epochs is kept" +
             (f" (and the checkpoint {config.shown(checkpoint)})" if checkpoint is not None else "") +
             f". Try batch_size={smaller} (and lr={lr * smaller / batch_size:g}, scaled with it), or a smaller width.")
    finally:
        bar.close()
        model.eval()
        if cpu is not None:
            cpu.restore()
    return history


def _complete(history, epochs):
    return history.diverged or (len(history) >= epochs and not history.out_of_memory)


def _restore(saved, settings, model, optimizer, scaler, history, label):
    """Put a checkpoint's state into this run; returns (step, the unfinished epoch's progress or None)."""
    training = saved.get("training")
    if training is None:
        raise CheckpointError(f"{saved['path']} holds weights only, not a run in progress: it cannot be resumed; "
                              f"train with resume=False to start again")
    changed = checkpoints.differences(training["settings"], settings)
    if changed:
        raise CheckpointError(f"{label}: the checkpoint {saved['path']} was made with other settings, so it is not "
                              f"resumed: " + "; ".join(changed[:6]) + ("; ..." if len(changed) > 6 else "") +
                              ". Train with resume=False to start again (it replaces the checkpoint), or give "
                              "another checkpoint path.")
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(f"{saved['path']} does not fit this {type(model).__name__}: "
                              f"{str(error)[:300]}") from error
    optimizer.load_state_dict(training["optimizer"])
    if scaler is not None and training.get("scaler"):
        scaler.load_state_dict(training["scaler"])
    restored = saved["history"]
    restored.meta = history.meta
    restored.interrupted = False
    for f in dataclasses.fields(History):
        setattr(history, f.name, getattr(restored, f.name))
    return training["step"], training["partial"]


@dataclass
class _Epoch:
    """The epoch in progress: the random state it started from and its steps so far
    (those of an earlier process as numbers, this process's still on the device)."""

    epoch_random: dict
    step_loss: list = field(default_factory=list)
    step_acc: list = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0

    def __post_init__(self):
        self.losses, self.hits, self.start = [], [], time.perf_counter()

    def add(self, loss, hit):
        self.losses.append(loss)
        self.hits.append(hit)

    def elapsed(self):
        return self.seconds + time.perf_counter() - self.start

    def step_values(self):
        return self.step_loss + _floats(self.losses), self.step_acc + _floats(self.hits)

    def progress(self):
        """What a checkpoint keeps to continue inside this epoch."""
        step_loss, step_acc = self.step_values()
        return {"epoch_random": self.epoch_random, "step_loss": step_loss, "step_acc": step_acc,
                "seconds": self.elapsed(), "steps": len(step_loss)}


def _floats(tensors):
    """Per-step values as numbers: with several processes, the mean over their parts of each batch."""
    return distributed.mean(torch.stack(tensors)).tolist() if tensors else []


def _shared_generator(device):
    """The batches' own generator, seeded from torch's stream: with several processes, seeded
    alike in all of them, so that they draw the same crops and order as each other and as one
    process would (dropout keeps drawing from torch's stream)."""
    seed = int(torch.randint(0, 2**62, (1,)))
    generator = torch.Generator(device=device).manual_seed(seed)
    _separate_dropout_streams(device)
    return generator


def _separate_dropout_streams(device):
    """With several processes, give each its own stream for dropout (else their masks would be the same)."""
    if distributed.size() > 1:
        seed = int(torch.randint(0, 2**62, (1,))) + distributed.rank()
        torch.manual_seed(seed)


def _check_budget(epochs, lr, batch_size, training_images):
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a whole number of at least 1, got {epochs!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if batch_size > training_images:
        raise ValueError(f"batch_size {batch_size} is larger than the {training_images:,} training images; "
                         f"use a batch size of at most {training_images:,}")


def _weights_copy(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _say(line):
    tqdm.write(line)  # clears a terminal's progress bar first, so the line is not printed over it


def _epoch_reporter(epochs, lines=10):
    """Print one line per epoch, or about `lines` evenly spaced lines for long runs."""
    every = max(1, math.ceil(epochs / lines))

    def report(history):
        f = history.final
        if f["epoch"] % every == 0 or f["epoch"] == epochs:
            test = f"{f['test_acc']:6.1%}" if f["test_acc"] is not None else "     -"
            _say(f"  epoch {f['epoch']:>3}/{epochs}  train loss {f['train_loss']:.3f}  "
                 f"train acc {f['train_acc']:6.1%}  test acc {test}  "
                 f"{f['seconds']:6.1f} s  {f['images_per_second']:8,.0f} img/s")

    return report
