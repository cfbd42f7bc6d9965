"""Running the plan's steps: each in a process of its own under a limit, the deadline kept."""
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass


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
