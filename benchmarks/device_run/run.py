"""One plan from start to end, and the command line."""
import argparse
import dataclasses
import json
import os
import pathlib
import shutil
import signal
import sys
import tempfile

from . import plans
from .data import RefusedError, _digest, check_images, decode_once, unpack
from .machine import machine_environment
from .plans import ARCHIVE, EXPECTED_IMAGES, H100, HERE, PIPELINE, ROOT, costs, estimate_table
from .report import gather, publish, records_of, summary, with_driver, write_json
from .steps import Calibration, Deadline, Guard, Log, Outcome, Step, run_limited, run_steps


def steps_for(plan, recipe_costs, speed=H100):
    """The plan's steps in order; the smoke steps are chosen later, from the time left."""
    steps = []
    for name in plans.PLANS[plan]:
        if name == PIPELINE:
            steps.append(Step(PIPELINE, "pipeline", plans.PIPELINE_SECONDS))
        else:
            steps.append(Step(name, "train", recipe_costs[name].seconds(speed)))
    return steps


def smoke_step(kind, trained, recipe_costs, left, speed=H100):
    """The smoke process of `kind` that fits in `left` seconds, as a list of at most one Step:
    "smoke-fp16", 1 epoch in fp16 of plans.FP16_SMOKES; "smoke", 1 epoch of every recipe not
    trained, in plan order, as many as fit."""
    one_epoch = {n: speed.warmup_seconds + c.epoch_seconds(speed) for n, c in recipe_costs.items()}
    if kind == "smoke-fp16":
        candidates, name = [n for n in plans.FP16_SMOKES if n in recipe_costs], "fp16 smoke"
    else:
        candidates = [n for names in plans.PLANS.values() for n in names if n in recipe_costs and n not in trained]
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
    environment = {"plan": plan, "recipes": list(plans.PLANS[plan]), "budget_seconds": budget,
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
        log(f"plan {plan}: {', '.join(plans.PLANS[plan])}; budget {budget:.0f} s; results in {results}")
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
        recipe_costs = costs([n for names in plans.PLANS.values() for n in names if n != PIPELINE])
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=sys.modules[__package__].__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one plan on this machine's GPU")
    run.add_argument("plan", choices=sorted(plans.PLANS))
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
