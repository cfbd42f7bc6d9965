"""The recipes themselves: each trained model's settings, per mode, and the jobs made of them."""
import dataclasses
from dataclasses import dataclass, field

from .. import config, models


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




def build(recipe, seed=0):
    """The untrained model of `recipe` (a Recipe), its weights drawn from `seed`: what `run` trains."""
    config.seed_everything(seed)
    return models.create(recipe.model, **recipe.options)


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
