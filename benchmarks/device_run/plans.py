"""The plans (most important first), the targets, and every step's estimated time on one GPU."""
import pathlib
from dataclasses import dataclass

HERE = pathlib.Path(__file__).resolve().parent.parent  # benchmarks/
ROOT = HERE.parent

ARCHIVE = ROOT / ".cifar10-jpeg" / "cifar10-jpeg.tar.gz"
EXPECTED_IMAGES = {"train": 50_000, "test": 10_000}
PIPELINE = "pipeline"  # the plan step that runs benchmarks/pipeline.py instead of a recipe

# Most important first. Each is sized to about 6 minutes on one H100 (see
# `estimate` and benchmarks/README.md), so that two fit in one 15-minute lease.
PLANS = {
    "1": ("resnet20", "resnet56", "plain20", "plain56", "baseline", "vgg16"),
    "2": ("densenet_bc", "googlenet"),
    "3a": ("alexnet", "alexnet_no_lrn", "alexnet_no_overlap", "alexnet_no_dropout", "alexnet_no_augment", "vgg11"),
    "3b": ("deep_plain_relu", "deep_plain_tanh", "deep_plain_sigmoid", "alexnet_fig1_relu", "alexnet_fig1_tanh",
           PIPELINE),
}
PLAN_SECONDS = 360  # what each plan's estimate is sized to

# Smoked in fp16 with a GradScaler (the T4 path): resnet20 for batch norm and
# residual sums, alexnet for local response normalization, whose sums of
# squares are the likeliest to overflow fp16.
FP16_SMOKES = ("resnet20", "alexnet")

# Issue 14's targets on the JPEG copy (test accuracy); the summary says by how much each was missed.
TARGETS = {"resnet20": 0.910, "resnet56": 0.925, "densenet_bc": 0.935, "vgg16": 0.925, "googlenet": 0.92,
           "alexnet": 0.84}


@dataclass(frozen=True)
class Speed:
    """Assumed sustained speeds of one GPU on the course's small CIFAR-10 networks.

    The defaults are for one H100 in eager PyTorch, bf16 autocast,
    channels_last, batch 128-256; benchmarks/README.md gives their sources.
    A plan run rescales them by what its first recipes measure.
    """

    mixed_flops: float = 60e12     # FLOP/s under bf16 or fp16 autocast
    fp32_flops: float = 30e12      # FLOP/s in float32 (cuDNN convolutions in TF32)
    layer_seconds: float = 30e-6   # host time per layer call per training step: launches, autograd, optimizer
    process_seconds: float = 15.0  # Python and torch start, CUDA context, cached data to the GPU
    warmup_seconds: float = 3.0    # per model: building it, cuDNN's autotuning in its first epoch


H100 = Speed()


@dataclass(frozen=True)
class Cost:
    """What a recipe's training time is estimated from."""

    name: str
    epochs: int
    batch_size: int
    multiply_adds: int  # one 32x32 image, forward
    layer_calls: int    # leaf-layer calls in one forward pass
    fp32: bool

    def epoch_seconds(self, speed=H100, train_images=EXPECTED_IMAGES["train"], test_images=EXPECTED_IMAGES["test"]):
        """One epoch and its test evaluation: the arithmetic at the sustained rate, or the host's
        launch work where that is longer (small networks at these batch sizes are launch-bound)."""
        # Training costs about 3x a forward pass (the backward pass computes two
        # gradients per layer), and a multiply-add is 2 FLOP.
        flops = 2 * self.multiply_adds * (3 * train_images + test_images)
        arithmetic = flops / (speed.fp32_flops if self.fp32 else speed.mixed_flops)
        launches = (train_images // self.batch_size) * self.layer_calls * speed.layer_seconds
        return max(arithmetic, launches)

    def bound(self, speed=H100):
        launches = (EXPECTED_IMAGES["train"] // self.batch_size) * self.layer_calls * speed.layer_seconds
        return "launch" if launches >= self.epoch_seconds(speed) else "arithmetic"

    def seconds(self, speed=H100, epochs=None):
        """Training `epochs` (default the recipe's) in a process of its own."""
        epochs = self.epochs if epochs is None else epochs
        return speed.process_seconds + speed.warmup_seconds + epochs * self.epoch_seconds(speed)


def recipe_cost(name, mode="full"):
    """The Cost of a recipe, its multiply-adds and layer calls counted by cnnlib.arith."""
    from cnnlib import arith, models, recipes

    recipe = recipes.get(name, mode)
    table = arith.parameter_table(models.create(recipe.model, **recipe.options), (3, 32, 32))
    return Cost(name, recipe.epochs, recipe.batch_size, table.total_multiply_adds, len(table.rows),
                recipe.precision == "fp32")


# The pipeline benchmark: a DataLoader of PIL images at an assumed 8,000 images/s
# with 2 workers, one warm-up and 3 timed epochs of 50,000 images, alone and
# feeding resnet20 (about 55 s), plus cnnlib's rows and the process start.
PIPELINE_SECONDS = 120.0


def costs(names=None):
    """{recipe: Cost} for `names` (default: every recipe of every plan)."""
    names = names or [n for plan in PLANS.values() for n in plan if n != PIPELINE]
    return {name: recipe_cost(name) for name in names}


def plan_seconds(plan, recipe_costs, speed=H100):
    return sum(PIPELINE_SECONDS if n == PIPELINE else recipe_costs[n].seconds(speed) for n in PLANS[plan])


def estimate_table(recipe_costs, speed=H100, markdown=False):
    """Every plan's steps with their estimates, per plan and in all."""
    from cnnlib.table import Table

    header = ["plan", "step", "epochs", "batch", "multiply-adds (M)", "layer calls", "bound", "s/epoch", "estimate s"]
    rows, total = [], 0.0
    for plan, names in PLANS.items():
        for name in names:
            if name == PIPELINE:
                rows.append([plan, "benchmarks/pipeline.py", None, None, None, None, None, None, f"{PIPELINE_SECONDS:.0f}"])
                continue
            c = recipe_costs[name]
            rows.append([plan, name, c.epochs, c.batch_size, c.multiply_adds / 1e6, c.layer_calls, c.bound(speed),
                         c.epoch_seconds(speed), f"{c.seconds(speed):.0f}"])
        seconds = plan_seconds(plan, recipe_costs, speed)
        total += seconds
        rows.append([plan, f"**plan {plan}**" if markdown else f"plan {plan} in all", None, None, None, None, None,
                     None, f"{seconds:.0f} ({seconds / 60:.1f} min)"])
    rows.append(["all", "**every plan**" if markdown else "every plan", None, None, None, None, None, None,
                 f"{total:.0f} ({total / 60:.1f} min)"])
    table = Table(header, rows, formats={"multiply-adds (M)": ",.1f", "s/epoch": ".2f"})
    return table.markdown().rstrip("\n") if markdown else str(table)
