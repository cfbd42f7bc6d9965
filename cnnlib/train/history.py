"""History: the record of one training run, epoch by epoch and step by step.

A plain dataclass of lists and numbers, so that it goes into a checkpoint and
a JSON record and comes back unchanged. cnnlib.train fills it; everything
that reads a run (plots, claim checks, records) reads it.
"""
import dataclasses
from dataclasses import asdict, dataclass, field

EPOCH_FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_second")


@dataclass
class History:
    """What happened in training: one entry per epoch, plus the loss and accuracy of every step.

    `seconds` counts training only; the test evaluation after each epoch is in
    `eval_seconds`, so images per second compare across recipes. `measurements`
    holds what fit's on_epoch callback returned after each epoch (kept in
    checkpoints, so a resumed run still has the earlier epochs' measurements).
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
    measurements: list = field(default_factory=list)
    steps_per_epoch: int = 0
    interrupted: bool = False
    diverged: bool = False
    out_of_memory: bool = False
    meta: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.epoch)

    @property
    def finished(self):
        """True when every planned epoch ran: not interrupted, not stopped by divergence or memory."""
        return len(self) > 0 and not (self.interrupted or self.diverged or self.out_of_memory)

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

    def summary(self):
        """The run's result in one line without its times: the same for a run and its resumed twin."""
        if not self.epoch:
            return "no finished epoch"
        f = self.final
        return (f"{len(self)} epochs: train loss {f['train_loss']:.4f}, train acc {f['train_acc']:.2%}, "
                f"test loss {f['test_loss']:.4f}, test acc {f['test_acc']:.2%}")

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
        stop = (", interrupted" if self.interrupted else ", diverged" if self.diverged
                else ", out of memory" if self.out_of_memory else "")
        return (f"History({len(self)} epochs{stop}: train loss {f['train_loss']:.3f}, "
                f"train acc {f['train_acc']:.1%}, test acc {f['test_acc']:.1%}, "
                f"{self.train_seconds:.1f} s, {f['images_per_second']:,.0f} images/s)")
