"""Train one plan of full-mode recipes on a lent GPU inside a fixed time budget.

    CNNLIB_RESULTS=$OUT bash benchmarks/device_run.sh 1 --budget 390

`run PLAN` (what device_run.sh calls):

1. unpacks the carried CIFAR-10 JPEG tarball (.cifar10-jpeg/cifar10-jpeg.tar.gz)
   into a work folder, and refuses to go on unless it holds exactly 50,000
   training and 10,000 test images (never the embedded subset instead);
2. records the GPU, its driver, torch, CUDA and cuDNN;
3. trains each recipe of the plan in its own process (`python -m cnnlib
   RECIPE --mode full`) under a deadline guard: a recipe whose estimated time
   no longer fits is skipped, and one that reaches its own limit gets SIGINT,
   so that fit stops cleanly and its record says `interrupted` with the
   epochs done;
4. with the time left, a 1-epoch smoke of every recipe not trained, and a
   1-epoch smoke with fp16 and a GradScaler forced (Colab's T4 path);
5. after every step, gathers the runs' records (one JSON file per run, as
   cnnlib.results writes them) into a few files in the results folder
   ($CNNLIB_RESULTS), so a run cut short keeps what finished, and what the
   device tool brings back fits its limits (at most 8 files, plain names):

       plan<P>-environment.json  GPU, driver, software, data, budget, estimates
       plan<P>-records.json      the trained runs, {"full-<gpu>": {name: record}}
       plan<P>-smoke.json        the 1-epoch smokes, same shape
       plan<P>-pipeline.json     benchmarks/pipeline.py's numbers (plans with it)
       plan<P>-summary.txt       the summary table, also printed at the end
       plan<P>-log.txt           everything the steps printed

`estimate` prints every plan's estimated time; `publish FILE` merges a
returned records file into cnnlib's shipped references (cnnlib.results.publish).
"""
import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # the checkout's cnnlib, also where it is not installed (the GPU machine)

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


# ---------------------------------------------------------------- time estimates

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


# ---------------------------------------------------------------- the data

class RefusedError(RuntimeError):
    """The run cannot go on (wrong data, no GPU); the message says why."""


def count_images(folder):
    """{"train": n, "test": n} image files in an ImageFolder tree (split/class/file)."""
    folder = pathlib.Path(folder)
    return {split: sum(1 for p in (folder / split).glob("*/*") if p.is_file()) for split in EXPECTED_IMAGES}


def check_images(folder, expected=EXPECTED_IMAGES):
    """Refuse anything but exactly the expected number of images per split."""
    found = count_images(folder)
    if found != dict(expected):
        raise RefusedError(
            f"{folder} holds {found['train']:,} training and {found['test']:,} test images; a full-mode reference "
            f"run needs exactly {expected['train']:,} and {expected['test']:,} (the whole CIFAR-10). "
            f"Make the archive again (benchmarks/README.md) and carry .cifar10-jpeg")
    return found


def unpack(archive, work):
    """The ImageFolder tree inside `archive`, unpacked once into `work` (kept for a second plan
    on the same machine); returns its path."""
    archive = pathlib.Path(archive)
    if not archive.is_file():
        raise RefusedError(f"no data archive at {archive}: make it (benchmarks/README.md) and name "
                           f"its folder in the device call's carry")
    target = pathlib.Path(work) / "data"
    done = target / ".unpacked"
    if not (done.exists() and done.read_text() == _digest(archive)):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        done.write_text(_digest(archive))
    tops = [p for p in target.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise RefusedError(f"{archive} should hold one folder (cifar10-jpeg/train, cifar10-jpeg/test), "
                           f"found {sorted(p.name for p in tops)}")
    return tops[0]


def _digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode_once(folder, cache, expected=EXPECTED_IMAGES):
    """Decode the tree once through cnnlib.data (so each step's process loads the cached
    tensors instead of 60,000 JPEGs) and check that every image decoded."""
    from cnnlib import data

    cifar = data.load_cifar10(str(folder), root=cache, device="cpu", verbose=False)
    found = {"train": len(cifar.train_labels), "test": len(cifar.test_labels)}
    if found != dict(expected):
        raise RefusedError(f"cnnlib decoded {found} images from {folder}, expected {dict(expected)}")
    return cifar.source


# ---------------------------------------------------------------- the machine

ENVIRONMENT_SCRIPT = """
import json, platform, torch
found = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
         "cudnn": torch.backends.cudnn.version(), "cuda_available": torch.cuda.is_available()}
try:
    import torchvision
    found["torchvision"] = torchvision.__version__
except ImportError:
    pass
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    found.update(gpu=p.name, capability=f"{p.major}.{p.minor}", gpu_memory_gib=round(p.total_memory / 2**30, 1),
                 multiprocessors=p.multi_processor_count)
print(json.dumps(found))
"""


def machine_environment(python):
    """The GPU, driver and software the steps will run with (asked in a separate process,
    so this one never opens a CUDA context)."""
    found = {"host": platform.node(), "cpus": os.cpu_count(),
             "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=60)
        fields = [f.strip() for f in out.stdout.splitlines()[0].split(",")] if out.returncode == 0 else []
        if len(fields) == 3:
            found.update(nvidia_smi_gpu=fields[0], driver=fields[1], nvidia_smi_memory=fields[2])
        else:
            found["nvidia_smi"] = (out.stderr or out.stdout).strip()[:300]
    except (OSError, subprocess.TimeoutExpired, IndexError) as error:
        found["nvidia_smi"] = f"not available ({error})"
    out = subprocess.run([python, "-c", ENVIRONMENT_SCRIPT], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RefusedError(f"{python} could not import torch: {out.stderr.strip()[-500:]}")
    found.update(json.loads(out.stdout.strip().splitlines()[-1]))
    try:
        found["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                         text=True, timeout=10).stdout.strip() or None
    except OSError:
        found["commit"] = None
    return found


# ---------------------------------------------------------------- running a step under a limit

@dataclass(frozen=True)
class Guard:
    """How the deadline is kept."""

    factor: float = 2.0    # a step's own limit: factor x its estimate + margin, at most the time left
    margin: float = 30.0
    grace: float = 30.0    # after SIGINT, time to record and exit before SIGTERM (then SIGKILL)
    reserve: float = 20.0  # kept back at the end for a last SIGINT's grace and the summary

    def limit(self, estimate, left):
        return min(left - self.reserve, self.factor * estimate + self.margin)


@dataclass
class Finished:
    returncode: int
    seconds: float
    stopped: str = ""  # "SIGINT", "SIGTERM" or "SIGKILL" when the guard stopped the process


class Log:
    """Lines to the log file and to standard output."""

    def __init__(self, path=None):
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, line, prefix=""):
        text = f"{prefix}{line}"
        with self.lock:
            print(text, flush=True)
            if self.path is not None:
                with open(self.path, "a") as f:
                    f.write(text + "\n")


def _visible(line):
    """What a terminal would show of a line with carriage returns (progress bars)."""
    parts = [p for p in line.rstrip("\n").split("\r") if p.strip()]
    return parts[-1] if parts else ""


def run_limited(command, limit, log, prefix="", env=None, cwd=None, grace=30.0):
    """Run `command`, copying its output to `log`; at `limit` seconds send it SIGINT
    (cnnlib's fit then stops cleanly and the run is recorded as interrupted),
    after `grace` more seconds SIGTERM, then SIGKILL."""
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=env, cwd=cwd, text=True, errors="replace", preexec_fn=_sigint_by_default)

    def copy():
        for line in process.stdout:
            text = _visible(line)
            if text:
                log(text, prefix)

    reader = threading.Thread(target=copy, daemon=True)
    reader.start()
    stopped = ""
    try:
        process.wait(timeout=max(0.0, limit))
    except subprocess.TimeoutExpired:
        stopped = _stop(process, grace, log, prefix)
    except BaseException as error:
        # This run itself is being stopped (SIGTERM from the device tool's timeout,
        # or Ctrl-C, which the child gets too): give the child its chance to record.
        if process.poll() is None:
            _stop(process, min(grace, 10.0), log, prefix, interrupt=not isinstance(error, KeyboardInterrupt))
        raise
    finally:
        reader.join(timeout=5)
    return Finished(process.returncode, time.monotonic() - start, stopped)


def _sigint_by_default():
    # A shell starts a background job with SIGINT ignored, and children inherit that:
    # the step would then miss the SIGINT that lets fit record its finished epochs.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop(process, grace, log, prefix, interrupt=True):
    if interrupt:
        log("time limit reached: SIGINT (the run records the epochs that finished)", prefix)
        process.send_signal(signal.SIGINT)
    for signal_name, wait in (("SIGINT", grace), ("SIGTERM", 10.0)):
        try:
            process.wait(timeout=wait)
            return signal_name
        except subprocess.TimeoutExpired:
            if signal_name == "SIGINT":
                log("still running after SIGINT: SIGTERM", prefix)
                process.terminate()
    log("still running after SIGTERM: SIGKILL", prefix)
    process.kill()
    process.wait()
    return "SIGKILL"


# ---------------------------------------------------------------- the deadline guard

@dataclass
class Step:
    name: str
    kind: str        # "train", "pipeline", "smoke" or "smoke-fp16"
    estimate: float  # seconds, before rescaling
    recipes: tuple = ()  # the recipes a smoke step trains


@dataclass
class Outcome:
    step: Step
    status: str      # "finished", "interrupted", "failed", "skipped", "stopped"
    limit: float = 0.0
    expected: float = None  # the estimate when it started or was skipped, rescaled
    seconds: float = 0.0
    returncode: int = None
    note: str = ""


class Deadline:
    def __init__(self, seconds, clock=time.monotonic):
        self.clock = clock
        self.end = clock() + seconds

    def left(self):
        return self.end - self.clock()


class Calibration:
    """The ratio of measured to estimated times so far (median, kept within [low, high]),
    applied to the estimates of the steps still to come."""

    def __init__(self, low=0.5, high=3.0):
        self.ratios, self.low, self.high = [], low, high

    def add(self, measured, estimated):
        if estimated > 0 and measured > 0:
            self.ratios.append(measured / estimated)

    @property
    def scale(self):
        return min(self.high, max(self.low, statistics.median(self.ratios))) if self.ratios else 1.0


def run_steps(steps, deadline, execute, log, guard=Guard(), calibration=None, after_step=None):
    """Run `steps` in order within `deadline`: skip a step whose estimate (rescaled by the
    calibration) no longer fits, give each the limit Guard.limit allows, and call
    `after_step(outcomes)` after each one. `execute(step, limit)` runs a step and returns
    its Outcome. Returns the outcomes, skipped steps included."""
    calibration = calibration or Calibration()
    outcomes = []
    for step in steps:
        scale = calibration.scale if step.kind == "train" else 1.0
        expected = step.estimate * scale
        left = deadline.left()
        if expected > left - guard.reserve:
            log(f"skip {step.name}: estimated {expected:.0f} s, {max(0.0, left - guard.reserve):.0f} s left")
            outcomes.append(Outcome(step, "skipped", expected=expected,
                                    note=f"estimated {expected:.0f} s > {max(0, left):.0f} s left"))
        else:
            limit = guard.limit(expected, left)
            log(f"start {step.name}: estimated {expected:.0f} s (x{scale:.2f}), limit {limit:.0f} s, "
                f"{left:.0f} s left")
            outcome = execute(step, limit)
            outcome.limit, outcome.expected = limit, expected
            outcomes.append(outcome)
            if step.kind == "train" and outcome.status in ("finished", "interrupted"):
                calibration.add(outcome.seconds, step.estimate)
        if after_step is not None:
            after_step(outcomes)
    return outcomes


# ---------------------------------------------------------------- collecting records

def gather(folder):
    """{"<mode>-<device>": {name: record}} from the one-file-per-run records under `folder`."""
    found = {}
    for path in sorted(pathlib.Path(folder).glob("*/*.json")):
        record = json.loads(path.read_text())
        found.setdefault(path.parent.name, {})[record["name"]] = record
    return found


def records_of(grouped):
    """{name: record} over every mode and device of a gathered dict."""
    return {name: r for records in grouped.values() for name, r in records.items()}


def write_json(path, value):
    from cnnlib import results

    results.write_json(path, value)


def with_driver(grouped, driver):
    """The gathered records with the GPU driver added to each record's environment."""
    if driver:
        for records in grouped.values():
            for record in records.values():
                record.setdefault("environment", {}).setdefault("driver", driver)
    return grouped


# ---------------------------------------------------------------- the summary

def _percent(value):
    return "-" if value is None else f"{value:.1%}"


def summary(plan, outcomes, trained, smoked, pipeline=None, environment=None, scale=1.0):
    """The summary table and the lines after it, as text."""
    from cnnlib.table import Table

    rows = []
    for outcome in outcomes:
        step = outcome.step
        names = step.recipes or (step.name,)
        for name in names:
            record = None
            if step.kind == "train":
                record = trained.get(name)
            elif step.kind.startswith("smoke"):
                record = next((r for r in smoked.values() if r.get("recipe_name") == name and
                               (r.get("recipe", {}).get("precision") == "fp16") == (step.kind == "smoke-fp16")), None)
            status = outcome.status
            if record is not None:
                status = ("finished" if record.get("finished") else "interrupted") + (
                    ", diverged" if record.get("diverged") else "")
            elif step.kind.startswith("smoke") and outcome.status != "skipped":
                status = f"not recorded ({outcome.status})"
            label = name + (" [fp16]" if step.kind == "smoke-fp16" else " [1 epoch]" if step.kind == "smoke" else "")
            target = TARGETS.get(name) if step.kind == "train" else None
            rows.append([
                label, status,
                record["epochs"] if record else None,
                _percent(record["test_acc"]) if record else "-",
                _percent(target) if target else "-",
                _percent(record["train_acc"]) if record else "-",
                record["train_seconds"] if record else None,
                round(outcome.seconds, 1) if len(names) == 1 and outcome.seconds else None,
                round(outcome.expected) if len(names) == 1 and outcome.expected is not None else None,
                f"{record['images_per_second']:,.0f}" if record else "-",
                record.get("recipe", {}).get("precision") if record else None,
            ])
    env = environment or {}
    title = (f"plan {plan} on {env.get('gpu') or env.get('nvidia_smi_gpu') or 'an unknown device'} "
             f"(driver {env.get('driver', '?')}, torch {env.get('torch', '?')}, CUDA {env.get('cuda', '?')}, "
             f"cuDNN {env.get('cudnn', '?')}), {env.get('date', '')}")
    table = Table(["step", "status", "epochs", "test acc", "target", "train acc", "train s", "wall s",
                   "estimate s", "images/s", "precision"], rows, title=title)
    lines = [str(table), f"estimates rescaled by x{scale:.2f} from the trained steps' measured times"]
    for name, target in TARGETS.items():
        record = trained.get(name)
        if record is not None and record["test_acc"] < target:
            lines.append(f"{name}: {record['test_acc']:.1%} misses its target {target:.1%} by "
                         f"{(target - record['test_acc']) * 100:.1f} points")
    if "plain20" in trained and "plain56" in trained:
        e20, e56 = (1 - trained[n]["train_acc"] for n in ("plain20", "plain56"))
        shown = "shown" if e56 > e20 else "NOT shown"
        lines.append(f"degradation {shown}: final training error plain-56 {e56:.1%}, plain-20 {e20:.1%}")
    for row in (pipeline or {}).get("rows", []):
        lines.append(f"pipeline, {row['what']}: DataLoader {row['dataloader']:,.0f} images/s, "
                     f"cnnlib {row['cnnlib']:,.0f} images/s, {row['ratio']:.1f}x")
    return "\n".join(lines)


# ---------------------------------------------------------------- one plan

def steps_for(plan, recipe_costs, speed=H100):
    """The plan's steps in order; the smoke steps are chosen later, from the time left."""
    steps = []
    for name in PLANS[plan]:
        if name == PIPELINE:
            steps.append(Step(PIPELINE, "pipeline", PIPELINE_SECONDS))
        else:
            steps.append(Step(name, "train", recipe_costs[name].seconds(speed)))
    return steps


def smoke_step(kind, trained, recipe_costs, left, speed=H100):
    """The smoke process of `kind` that fits in `left` seconds, as a list of at most one Step:
    "smoke-fp16", 1 epoch in fp16 of FP16_SMOKES; "smoke", 1 epoch of every recipe not
    trained, in plan order, as many as fit."""
    one_epoch = {n: speed.warmup_seconds + c.epoch_seconds(speed) for n, c in recipe_costs.items()}
    if kind == "smoke-fp16":
        candidates, name = [n for n in FP16_SMOKES if n in recipe_costs], "fp16 smoke"
    else:
        candidates = [n for names in PLANS.values() for n in names if n in recipe_costs and n not in trained]
        name = "1-epoch smoke"
    chosen, seconds = [], speed.process_seconds
    for recipe in candidates:
        if seconds + one_epoch[recipe] <= left:
            chosen.append(recipe)
            seconds += one_epoch[recipe]
    return [Step(name, kind, seconds, tuple(chosen))] if chosen else []


def step_command(step, python, data_dir, pipeline_json):
    if step.kind == "train":
        return [python, "-m", "cnnlib", step.name, "--mode", "full", "--data", str(data_dir)]
    if step.kind.startswith("smoke"):
        return ([python, str(HERE / "full_mode.py"), "--data", str(data_dir), "--mode", "full", "--epochs", "1",
                 "--baseline", "none"] + (["--precision", "fp16"] if step.kind == "smoke-fp16" else [])
                + ["--recipes", *step.recipes])
    if step.kind == "pipeline":
        return [python, str(HERE / "pipeline.py"), "--data", str(data_dir), "--workers", "2", "--batch-size", "128",
                "--epochs", "3", "--model", "resnet20", "--json", str(pipeline_json)]
    raise ValueError(f"unknown step kind {step.kind!r}")


def default_work():
    """Where the data is unpacked and runs are recorded: memory-backed /dev/shm where there
    is one with room (60,000 small files unpack there in seconds; with the decoded cache
    they take about 0.5 GB), else the temporary folder."""
    shm = pathlib.Path("/dev/shm")
    roomy = shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 2 * 2**30
    base = shm if roomy else pathlib.Path(tempfile.gettempdir())
    return base / "cnnlib-device-run"


def run_plan(plan, results, budget, archive=ARCHIVE, work=None, python=None, speed=H100, guard=Guard(),
             expected=EXPECTED_IMAGES, allow_cpu=False, smoke=True):
    """Run one plan (see the module's docstring); returns the process exit status:
    0 every recipe finished, 1 some did not, 2 refused (data or device)."""
    deadline = Deadline(budget)
    python = python or sys.executable
    results = pathlib.Path(results)
    results.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(work or default_work())
    stem = f"plan{plan}"
    files = {kind: results / f"{stem}-{kind}" for kind in
             ("environment.json", "records.json", "smoke.json", "pipeline.json", "summary.txt", "log.txt")}
    for path in files.values():
        path.unlink(missing_ok=True)
    log = Log(files["log.txt"])
    runs = work / stem
    shutil.rmtree(runs, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               PYTHONUNBUFFERED="1", CNNLIB_DATA=str(work / "cache"), TQDM_MININTERVAL="30")
    env.pop("CNNLIB_MODE", None)
    environment = {"plan": plan, "recipes": list(PLANS[plan]), "budget_seconds": budget,
                   "speed_assumed": dataclasses.asdict(speed), "guard": dataclasses.asdict(guard)}
    outcomes, state = [], {"scale": 1.0}

    def collect(current=None):
        outcomes_ = current if current is not None else outcomes
        driver = environment.get("driver")
        trained = with_driver(gather(runs / "trained"), driver)
        smoked = with_driver(gather(runs / "smoke"), driver)
        write_json(files["records.json"], trained)
        if smoked:
            write_json(files["smoke.json"], smoked)
        pipeline = json.loads(files["pipeline.json"].read_text()) if files["pipeline.json"].exists() else None
        text = summary(plan, outcomes_, records_of(trained), records_of(smoked), pipeline, environment,
                       state["scale"])
        files["summary.txt"].write_text(text + "\n")
        return text

    try:
        log(f"plan {plan}: {', '.join(PLANS[plan])}; budget {budget:.0f} s; results in {results}")
        log(f"unpacking {archive}")
        data_dir = unpack(archive, work)
        environment["images"] = check_images(data_dir, expected)
        environment.update(machine_environment(python))
        write_json(files["environment.json"], environment)
        log(json.dumps(environment))
        if not environment.get("cuda_available") and not allow_cpu:
            raise RefusedError("torch sees no CUDA GPU: full-mode recipes would take hours on the CPU")
        environment["data"] = {"archive": pathlib.Path(archive).name, "sha256": _digest(archive),
                               "source": decode_once(data_dir, work / "cache", expected)}
        log(f"data: {environment['images']['train']:,} training and {environment['images']['test']:,} test images "
            f"in {data_dir}")
        recipe_costs = costs([n for names in PLANS.values() for n in names if n != PIPELINE])
        environment["estimates_seconds"] = {n: round(c.seconds(speed)) for n, c in recipe_costs.items()}
        write_json(files["environment.json"], environment)
    except RefusedError as error:
        log(f"REFUSED: {error}")
        environment["refused"] = str(error)
        write_json(files["environment.json"], environment)
        files["summary.txt"].write_text(f"plan {plan} refused: {error}\n")
        return 2

    calibration = Calibration()

    def execute(step, limit):
        folder = runs / ("trained" if step.kind == "train" else "smoke")
        command = step_command(step, python, data_dir, files["pipeline.json"])
        log(" ".join(command))
        done = run_limited(command, limit, log, prefix=f"[{step.name}] ", cwd=ROOT, grace=guard.grace,
                           env=dict(env, CNNLIB_RESULTS=str(folder)))
        if done.returncode == 0:
            status = "finished"
        elif done.stopped or done.returncode in (130, -signal.SIGINT):
            status = "interrupted"
        else:
            status = "failed"
        return Outcome(step, status, seconds=done.seconds, returncode=done.returncode,
                       note=f"stopped by {done.stopped}" if done.stopped else "")

    def after_step(current):
        state["scale"] = calibration.scale
        collect(outcomes + current)

    try:
        outcomes += run_steps(steps_for(plan, recipe_costs, speed), deadline, execute, log, guard, calibration,
                          after_step)
        if smoke:
            trained = {o.step.name for o in outcomes if o.step.kind == "train" and o.status != "skipped"}
            for kind in ("smoke-fp16", "smoke"):  # each chosen from the time left when it starts
                steps = smoke_step(kind, trained, recipe_costs, deadline.left() - guard.reserve, speed)
                outcomes += run_steps(steps, deadline, execute, log, guard, calibration, after_step)
    except (KeyboardInterrupt, SystemExit):
        log("stopped from outside: what finished is kept")
        outcomes.append(Outcome(Step("the rest of the plan", "stopped", 0.0), "stopped"))
        log(collect())
        return 1
    text = collect()
    log("")
    log(text)
    train_steps = [o for o in outcomes if o.step.kind == "train"]
    return 0 if train_steps and all(o.status == "finished" for o in train_steps) else 1


# ---------------------------------------------------------------- publishing what came back

def publish(path, include_interrupted=False):
    """Merge a returned plan<P>-records.json into cnnlib/references/<mode>-<device>.json
    (cnnlib.results.publish); interrupted or diverged runs are left out unless asked for.
    Returns the reference files written."""
    from cnnlib import results

    grouped = json.loads(pathlib.Path(path).read_text())
    written = []
    for key, records in grouped.items():
        mode, device = key.split("-", 1)
        kept = {n: r for n, r in records.items() if include_interrupted or r.get("finished")}
        for name in sorted(set(records) - set(kept)):
            print(f"left out {name!r}: {records[name]['epochs']} epochs, not finished")
        if not kept:
            continue
        with tempfile.TemporaryDirectory() as folder:
            for i, record in enumerate(kept.values()):
                results.write_json(pathlib.Path(folder) / f"{i:04d}.json", record)
            written.append(results.publish(mode, device, folder))
            print(f"published {len(kept)} records to {written[-1]}")
    return written


# ---------------------------------------------------------------- command line

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one plan on this machine's GPU")
    run.add_argument("plan", choices=sorted(PLANS))
    run.add_argument("--budget", type=float, default=540.0,
                     help="seconds for the whole plan, unpacking included (default 540: a 570-s device call)")
    run.add_argument("--results", default=None,
                     help="where the few result files go (default: $CNNLIB_RESULTS, else cnnlib's results folder)")
    run.add_argument("--archive", default=str(ARCHIVE), help=f"the data tarball (default {ARCHIVE.relative_to(ROOT)})")
    run.add_argument("--work", default=None, help="where the data is unpacked and runs are recorded "
                                                  "(default: /dev/shm/cnnlib-device-run, else in the temporary folder)")
    run.add_argument("--no-smoke", action="store_true", help="no smoke runs with the time left")
    estimate = commands.add_parser("estimate", help="print every plan's estimated time on one H100")
    estimate.add_argument("--markdown", action="store_true")
    publish_ = commands.add_parser("publish", help="merge a returned plan<P>-records.json into the shipped references")
    publish_.add_argument("file")
    publish_.add_argument("--include-interrupted", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "estimate":
        print(estimate_table(costs(), markdown=args.markdown))
        return 0
    if args.command == "publish":
        return 0 if publish(args.file, args.include_interrupted) else 1
    results = args.results or os.environ.get("CNNLIB_RESULTS")
    if not results:
        from cnnlib import results as results_module

        results = results_module.results_folder()

    def stop(signum, frame):  # the device tool's timeout: stop like Ctrl-C, keep what finished
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    return run_plan(args.plan, results, args.budget, archive=args.archive, work=args.work, smoke=not args.no_smoke)


if __name__ == "__main__":
    sys.exit(main())
