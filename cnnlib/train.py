"""Training and evaluation: fit, evaluate, History, checkpoints.

fit() is one plain loop: SGD with Nesterov momentum, a learning rate that
warms up then falls linearly to zero, cross-entropy. On CUDA it adds mixed
precision (bf16 on GPUs of compute capability 8.0 and newer, fp16 with a
gradient scaler on older ones such as Colab's T4) and channels_last.

Nothing a learner does loses work: the stop button (Ctrl-C) ends training
cleanly, keeps the History and the weights, and skips the rest of the cell's
training; a loss that turns inf or NaN stops training and puts back the last
finite weights; checkpoints (cnnlib.checkpoints) are written atomically and
load with weights_only=True.
"""
import contextlib
import dataclasses
import math
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import config
from .checkpoints import checkpoint_path, save_checkpoint

EPOCH_FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_second")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class History:
    """What happened in training: one entry per epoch, plus the loss and accuracy of every step.

    `seconds` counts training only; the test evaluation after each epoch is in
    `eval_seconds`, so images per second compare across recipes.
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    images_per_second: list = field(default_factory=list)
    eval_seconds: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    step_acc: list = field(default_factory=list)
    steps_per_epoch: int = 0
    interrupted: bool = False
    diverged: bool = False
    meta: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.epoch)

    @property
    def finished(self):
        """True when every planned epoch ran: not interrupted, not stopped by divergence."""
        return len(self) > 0 and not self.interrupted and not self.diverged

    @property
    def final(self):
        """The last epoch's numbers as a dict (empty if no epoch finished)."""
        return {name: getattr(self, name)[-1] for name in EPOCH_FIELDS} if self.epoch else {}

    @property
    def train_seconds(self):
        return sum(self.seconds)

    def step_error(self, window=1):
        """Training error of every step, each averaged over the `window` steps up to it
        (a trailing mean, so step i never looks at later steps)."""
        errors = [1 - a for a in self.step_acc]
        total, smoothed = 0.0, []
        for i, e in enumerate(errors):
            total += e - (errors[i - window] if i >= window else 0.0)
            smoothed.append(total / min(i + 1, window))
        return smoothed

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def __repr__(self):
        if not self.epoch:
            return "History(no finished epoch" + (", interrupted)" if self.interrupted else ")")
        f = self.final
        stop = ", interrupted" if self.interrupted else ", diverged" if self.diverged else ""
        return (f"History({len(self)} epochs{stop}: train loss {f['train_loss']:.3f}, "
                f"train acc {f['train_acc']:.1%}, test acc {f['test_acc']:.1%}, "
                f"{self.train_seconds:.1f} s, {f['images_per_second']:,.0f} images/s)")


@dataclass
class Score:
    loss: float
    accuracy: float


# ---------------------------------------------------------------- precision and layout

def autocast_dtype(device, precision="auto"):
    """The dtype autocast computes in on `device`, or None for float32.

    "auto": bf16 on CUDA GPUs of compute capability 8.0 and newer (A100, H100,
    RTX 30xx and later), fp16 on older ones (T4, V100), where cuDNN has no fast
    bf16 convolutions; float32 on the CPU. torch.cuda.is_bf16_supported() is
    not used: it answers True on a T4, where bf16 is emulated.
    "fp32", "bf16", "fp16": that precision on any device.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    device = torch.device(device)
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if device.type != "cuda":
        return None
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def gradient_scaler(device, dtype):
    """A GradScaler for fp16 (its small range needs the loss scaled up), else None."""
    if dtype != torch.float16:
        return None
    return torch.amp.GradScaler(torch.device(device).type)


def _autocast(device, dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def memory_format(device):
    """channels_last on CUDA, where convolutions run faster in it; the default elsewhere."""
    return torch.channels_last if torch.device(device).type == "cuda" else torch.contiguous_format


def prepare_model(model, device):
    """Move `model` to `device`, in the memory layout that trains fastest there."""
    return model.to(device=device, memory_format=memory_format(device))


def model_device(model):
    tensor = next(model.parameters(), None)
    if tensor is None:
        tensor = next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


# ---------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model, cifar, split="test", batch_size=1000, precision="auto", flip=False):
    """Loss and accuracy of `model` on a split ("test" or "train") of `cifar`.

    Runs where the model is, without moving it, changing its layout or
    leaving it in another mode: the training split is scored unaugmented.
    flip: test-time augmentation; each image's logits are averaged with its mirror image's.
    """
    device = model_device(model)
    dtype = autocast_dtype(device, precision)
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    try:
        for images, labels in cifar.batches(split, batch_size, memory_format=memory_format(device)):
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            with _autocast(device, dtype):
                logits = model(images).float()
                if flip:
                    logits = (logits + model(images.flip(3)).float()) / 2
            total_loss += F.cross_entropy(logits, labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
    finally:
        model.train(was_training)
    n = len(cifar.split(split)[1])
    return Score(loss=total_loss.item() / n, accuracy=correct.item() / n)


# ---------------------------------------------------------------- training

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
    with _autocast(images.device, dtype):
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
        on_epoch=None, checkpoint=None, progress=True, verbose=True, name=None):
    """Train `model` on `cifar` (a Cifar10 on the training device) and return a History.

    precision: "auto" (by device, see autocast_dtype) or "fp32", "bf16", "fp16".
    test_flip: score the test split with flip test-time augmentation (see evaluate).
    on_epoch(history, model) is called after each epoch (for measurements
    during training). checkpoint: a path to save the weights and History to
    at the end, also when training is interrupted or diverges.
    """
    _check_budget(epochs, lr, batch_size, len(cifar.train_labels))
    checkpoint = checkpoint_path(checkpoint) if checkpoint is not None else None
    label = name or type(model).__name__
    device = cifar.device
    history = History(meta={"model": label, "device": config.device_name(device), "data": cifar.source,
                            "train_images": len(cifar.train_labels), "test_images": len(cifar.test_labels),
                            "epochs": epochs, "lr": lr, "batch_size": batch_size, "precision": precision})
    if _stop.requested:
        history.interrupted = True
        print(f"{label}: not trained, because training was stopped in this cell (run the cell again to train)")
        return history

    _watch_cells()
    prepare_model(model, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
    dtype = autocast_dtype(device, precision)
    scaler = gradient_scaler(device, dtype)
    optimizer = sgd(model, lr, momentum, weight_decay)
    batches = cifar.train_batches(batch_size, augment=augment, memory_format=memory_format(device))
    total_steps = epochs * len(batches)
    history.steps_per_epoch = len(batches)
    history.meta["autocast"] = str(dtype).replace("torch.", "") if dtype else "float32"
    report = _epoch_reporter(epochs) if verbose else (lambda h: None)
    bar = tqdm(total=total_steps, desc=label, disable=not progress, leave=False)
    last_finite = _weights_copy(model)
    cpu = config.CpuShare() if device.type == "cpu" else None
    checked = time.perf_counter()
    step = 0
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            start = time.perf_counter()
            losses, hits = [], []
            for images, labels in batches:
                if cpu is not None and time.perf_counter() - checked >= 1.0:
                    cpu.adapt()  # share the cores with other trainings (see config.CpuShare)
                    checked = time.perf_counter()
                rate = learning_rate(step, total_steps, lr, warmup, schedule)
                for group in optimizer.param_groups:
                    group["lr"] = rate
                loss, logits = training_step(model, optimizer, images, labels, dtype, scaler, label_smoothing)
                # Kept on the device: reading them back each step would stall a GPU.
                losses.append(loss.detach())
                hits.append((logits.argmax(1) == labels).float().mean())
                step += 1
                bar.update()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds = time.perf_counter() - start
            step_loss = torch.stack(losses).tolist()
            step_acc = torch.stack(hits).tolist()
            start = time.perf_counter()
            score = evaluate(model, cifar, precision=precision, flip=test_flip)
            history.eval_seconds.append(time.perf_counter() - start)
            history.epoch.append(epoch)
            history.train_loss.append(sum(step_loss) / len(step_loss))
            history.train_acc.append(sum(step_acc) / len(step_acc))
            history.test_loss.append(score.loss)
            history.test_acc.append(score.accuracy)
            history.lr.append(rate)
            history.seconds.append(seconds)
            history.images_per_second.append(len(step_loss) * batch_size / seconds)
            history.step_loss += step_loss
            history.step_acc += step_acc
            if not (math.isfinite(history.train_loss[-1]) and math.isfinite(score.loss)):
                history.diverged = True
                model.load_state_dict(last_finite)
                _say(f"{label}: training diverged in epoch {epoch} (train loss {history.train_loss[-1]:.3g}, "
                     f"test loss {score.loss:.3g}); stopped, and the weights of the last finite epoch "
                     f"({epoch - 1}) are back in the model. A smaller learning rate (lr) usually helps.")
                break
            last_finite = _weights_copy(model)
            bar.set_postfix(epoch=epoch, loss=f"{history.train_loss[-1]:.3f}", test_acc=f"{score.accuracy:.1%}")
            report(history)
            if on_epoch is not None:
                on_epoch(history, model)
    except KeyboardInterrupt:
        history.interrupted = True
        _stop.requested = True
        finished = f"{len(history)} finished epoch" + ("s" if len(history) != 1 else "")
        _say(f"{label}: training interrupted after {finished} ({step} steps): the History "
             f"so far and the model's current weights are kept; the rest of this cell's training is skipped.")
    finally:
        bar.close()
        model.eval()
        if cpu is not None:
            cpu.restore()
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, history)
    return history


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
            _say(f"  epoch {f['epoch']:>3}/{epochs}  train loss {f['train_loss']:.3f}  "
                 f"train acc {f['train_acc']:6.1%}  test acc {f['test_acc']:6.1%}  "
                 f"{f['seconds']:6.1f} s  {f['images_per_second']:8,.0f} img/s")

    return report


# ---------------------------------------------------------------- the stop button

class _Stop:
    requested = False
    watching = False


_stop = _Stop()


def _watch_cells():
    """In IPython, forget a stop request when the next cell starts: one press of
    the stop button stops the rest of its cell's training, not later cells'."""
    if _stop.watching:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_run_cell", lambda *args: clear_stop())
        _stop.watching = True


def clear_stop():
    """Forget an earlier stop request, so that fit trains again (done at each new notebook cell)."""
    _stop.requested = False
