"""Training and evaluation: fit, evaluate, History, checkpoints.

fit() is one plain loop: SGD with Nesterov momentum, a learning rate that
warms up then falls linearly to zero, cross-entropy. On CUDA it adds mixed
precision (bf16 where the GPU has it, else fp16 with a gradient scaler) and
channels_last. Interrupting it (the notebook's stop button, Ctrl-C) ends
training cleanly: the History so far is returned and the weights stay in the
model.

    python -m cnnlib.train cifar_resnet20 --mode quick
"""
import argparse
import contextlib
import math
import pickle
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import config

EPOCH_FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_second")


@dataclass
class History:
    """What happened in training: one entry per epoch, plus the loss and accuracy of every step."""

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    images_per_second: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    step_acc: list = field(default_factory=list)
    steps_per_epoch: int = 0
    interrupted: bool = False
    meta: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.epoch)

    @property
    def final(self):
        """The last epoch's numbers as a dict (empty if no epoch finished)."""
        return {name: getattr(self, name)[-1] for name in EPOCH_FIELDS} if self.epoch else {}

    @property
    def train_seconds(self):
        return sum(self.seconds)

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        return cls(**values)

    def __repr__(self):
        if not self.epoch:
            return "History(no finished epoch)"
        f = self.final
        stop = ", interrupted" if self.interrupted else ""
        return (f"History({len(self)} epochs{stop}: train loss {f['train_loss']:.3f}, "
                f"train acc {f['train_acc']:.1%}, test acc {f['test_acc']:.1%}, "
                f"{self.train_seconds:.1f} s, {f['images_per_second']:,.0f} images/s)")


@dataclass
class Score:
    loss: float
    accuracy: float


def mixed_precision(device):
    """The autocast dtype for `device`: bf16 or fp16 on CUDA, None (fp32) on the CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _autocast(device, dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def prepare_model(model, device):
    """Move `model` to `device`, in channels_last memory layout on CUDA (faster convolutions)."""
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    return model


def _as_input(images, device):
    if device.type == "cuda":
        return images.contiguous(memory_format=torch.channels_last)
    return images


@torch.no_grad()
def evaluate(model, data, batch_size=1000):
    """Loss and accuracy of `model` on the test split of `data` (a Cifar10), on data's device."""
    prepare_model(model, data.device)
    dtype = mixed_precision(data.device)
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), device=data.device)
    correct = torch.zeros((), device=data.device, dtype=torch.int64)
    for images, labels in data.test_batches(batch_size):
        with _autocast(data.device, dtype):
            logits = model(_as_input(images, data.device))
        total_loss += F.cross_entropy(logits.float(), labels, reduction="sum")
        correct += (logits.argmax(1) == labels).sum()
    model.train(was_training)
    n = len(data.test_labels)
    return Score(loss=total_loss.item() / n, accuracy=correct.item() / n)


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
    device = images.device
    with _autocast(device, dtype):
        logits = model(_as_input(images, device))
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


def fit(model, data, epochs, lr, batch_size=128, weight_decay=5e-4, momentum=0.9,
        label_smoothing=0.0, augment=True, schedule="linear", warmup=0.15,
        on_epoch=None, checkpoint=None, progress=True, verbose=True, name=None):
    """Train `model` on `data` (a Cifar10 on the training device) and return a History.

    on_epoch(history, model) is called after each epoch (for measurements
    during training). checkpoint: a path to save the weights and History to
    at the end, or when training is interrupted.
    """
    device = data.device
    prepare_model(model, device)
    dtype = mixed_precision(device)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            # Weight decay on biases and norm scales only slows training.
            (no_decay if p.ndim <= 1 else decay).append(p)
    optimizer = torch.optim.SGD(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, momentum=momentum, nesterov=momentum > 0,
    )
    batches = data.train_batches(batch_size, augment=augment)
    total_steps = epochs * len(batches)
    history = History(steps_per_epoch=len(batches),
                      meta={"model": name or type(model).__name__, "device": config.device_name(device), "data": data.source,
                            "epochs": epochs, "lr": lr, "batch_size": batch_size})
    report = _epoch_reporter(epochs) if verbose else (lambda h: None)
    bar = tqdm(total=total_steps, desc=name or "training", disable=not progress, leave=False)
    step = 0
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            start = time.perf_counter()
            losses, hits = [], []
            for images, labels in batches:
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
            score = evaluate(model, data)
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
            bar.set_postfix(epoch=epoch, loss=f"{history.train_loss[-1]:.3f}", test_acc=f"{score.accuracy:.1%}")
            report(history)
            if on_epoch is not None:
                on_epoch(history, model)
            if not math.isfinite(history.train_loss[-1]):
                print(f"  training diverged in epoch {epoch} (loss {history.train_loss[-1]}); stopped")
                break
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"Training interrupted after {len(history)} finished epochs ({step} steps): "
              f"the History so far and the model's current weights are kept.")
    finally:
        bar.close()
        model.eval()
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, history)
    return history


def _epoch_reporter(epochs, lines=10):
    """Print one line per epoch, or about `lines` evenly spaced lines for long runs."""
    every = max(1, math.ceil(epochs / lines))

    def report(history):
        f = history.final
        if f["epoch"] % every == 0 or f["epoch"] == epochs:
            print(f"  epoch {f['epoch']:>3}/{epochs}  train loss {f['train_loss']:.3f}  "
                  f"train acc {f['train_acc']:6.1%}  test acc {f['test_acc']:6.1%}  "
                  f"{f['seconds']:6.1f} s  {f['images_per_second']:8,.0f} img/s")

    return report


# ---------------------------------------------------------------- checkpoints

class CheckpointError(RuntimeError):
    """A checkpoint file could not be loaded safely."""


def save_checkpoint(path, model, history=None, **metadata):
    """Save weights, History and metadata (plain numbers and strings) to `path`."""
    torch.save({
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": history.to_dict() if history is not None else None,
        "meta": metadata,
    }, path)


def load_checkpoint(path, model=None):
    """Load a checkpoint with weights_only=True, so a file cannot run code when read.

    Returns a dict with "state_dict", "history" (a History or None) and "meta";
    when `model` is given its weights are loaded into it.
    """
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as error:
        raise CheckpointError(
            f"refused to load {path}: it is not a plain checkpoint of tensors and numbers "
            f"(it may contain code that would run when unpickled). Only load checkpoints you "
            f"made with cnnlib.train.save_checkpoint. Details: {error}"
        ) from error
    if not isinstance(saved, dict) or "state_dict" not in saved:
        raise CheckpointError(f"{path} is not a cnnlib checkpoint (no state_dict)")
    if saved.get("history") is not None:
        saved["history"] = History.from_dict(saved["history"])
    if model is not None:
        model.load_state_dict(saved["state_dict"])
    return saved


# ---------------------------------------------------------------- recipes from the command line

def run_recipe(name, mode=None, data=None, seed=0, progress=True, verbose=True, on_epoch=None,
               checkpoint=None, **overrides):
    """Build and train the recipe `name` for `mode`; return (model, History).

    `overrides` change the recipe's fields (epochs=3, options={"width": 8}, ...).
    """
    from . import data as data_module
    from . import models, recipes

    recipe = recipes.get(name, mode).replace(**overrides)
    config.seed_everything(seed)
    if data is None:
        data = data_module.load_cifar10(mode=mode)
    model = models.create(recipe.model, **recipe.options)
    history = fit(model, data, name=name, progress=progress, verbose=verbose, on_epoch=on_epoch,
                  checkpoint=checkpoint, **recipe.fit_options())
    history.meta.update(recipe=name, mode=recipe.mode, data=data.source,
                        parameters=sum(p.numel() for p in model.parameters()))
    return model, history


def main(argv=None):
    from . import recipes

    parser = argparse.ArgumentParser(prog="python -m cnnlib.train", description="Train one of the course's recipes.")
    parser.add_argument("recipe", choices=recipes.names(), metavar="RECIPE",
                        help="one of: " + ", ".join(recipes.names()))
    parser.add_argument("--mode", choices=config.MODES, default=None, help="quick or full (default: by hardware)")
    parser.add_argument("--data", default=None, help="auto, torchvision, embedded, or an ImageFolder path")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--checkpoint", default=None, help="save weights and History here")
    args = parser.parse_args(argv)
    from . import data as data_module

    mode = config.get_mode(args.mode)
    data = data_module.load_cifar10(args.data, mode=mode)
    overrides = {"epochs": args.epochs} if args.epochs else {}
    model, history = run_recipe(args.recipe, mode=mode, data=data, **overrides)
    print(history)
    if args.checkpoint:
        save_checkpoint(args.checkpoint, model, history, recipe=args.recipe, mode=mode)
        print(f"saved {args.checkpoint}")


if __name__ == "__main__":
    main()
