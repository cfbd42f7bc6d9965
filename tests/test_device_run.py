"""benchmarks/device_run/: plan sizes, the deadline guard, the data refusal, what travels back.

No GPU and no training: the steps' processes are stand-ins (a stub "python")
that sleep, record like cnnlib does, and stop on SIGINT like fit.
"""
import json
import pathlib
import re
import signal
import sys
import tarfile
import textwrap

import pytest

from cnnlib import recipes

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import device_run  # noqa: E402

TRAVEL_NAME = re.compile(r"^[A-Za-z0-9._-]+$")  # what the device tool brings back from $OUT


# ---------------------------------------------------------------- plans and estimates

def test_every_recipe_is_in_exactly_one_plan():
    planned = [n for names in device_run.PLANS.values() for n in names if n != device_run.PIPELINE]
    assert sorted(planned) == recipes.names()
    assert sum(device_run.PIPELINE in names for names in device_run.PLANS.values()) == 1


@pytest.fixture(scope="module")
def costs():
    return device_run.costs()


def test_each_plan_is_sized_to_about_six_minutes_on_one_h100(costs):
    for plan in device_run.PLANS:
        seconds = device_run.plan_seconds(plan, costs)
        assert seconds <= 1.1 * device_run.PLAN_SECONDS, f"plan {plan}: {seconds:.0f} s, split it"


def test_costs_come_from_the_recipe_and_its_counted_multiply_adds():
    cost = device_run.recipe_cost("resnet20")
    recipe = recipes.get("resnet20", "full")
    assert (cost.epochs, cost.batch_size, cost.fp32) == (recipe.epochs, recipe.batch_size, False)
    # He et al. 2016's ResNet-20 costs about 41 million multiply-adds per 32x32 image.
    assert 40e6 < cost.multiply_adds < 42e6
    assert device_run.recipe_cost("deep_plain_sigmoid").fp32  # notebook 01's recipes train in float32


def test_an_epoch_is_the_longer_of_its_arithmetic_and_its_launches():
    speed = device_run.Speed(mixed_flops=1e14, fp32_flops=5e13, layer_seconds=20e-6, process_seconds=10,
                             warmup_seconds=2)
    wide = device_run.Cost("wide", epochs=10, batch_size=250, multiply_adds=10**9, layer_calls=10, fp32=False)
    # 2 FLOP per multiply-add, training 3 passes per image: 2e9 * (3 * 50,000 + 10,000) / 1e14 = 3.2 s;
    # launches: 200 steps * 10 layers * 20 us = 0.04 s.
    assert wide.epoch_seconds(speed) == pytest.approx(3.2)
    assert wide.bound(speed) == "arithmetic"
    assert wide.seconds(speed) == pytest.approx(10 + 2 + 10 * 3.2)
    assert device_run.Cost("wide32", 10, 250, 10**9, 10, fp32=True).epoch_seconds(speed) == pytest.approx(6.4)
    deep = device_run.Cost("deep", epochs=10, batch_size=128, multiply_adds=10**7, layer_calls=300, fp32=False)
    # 390 steps * 300 layers * 20 us = 2.34 s, against 0.032 s of arithmetic.
    assert deep.epoch_seconds(speed) == pytest.approx(2.34)
    assert deep.bound(speed) == "launch"


def test_the_estimate_table_lists_every_plan_and_step(costs):
    text = device_run.estimate_table(costs, markdown=True)
    for plan, names in device_run.PLANS.items():
        assert f"**plan {plan}**" in text
        for name in names:
            assert name in text or name == device_run.PIPELINE
    assert "benchmarks/pipeline.py" in text


# ---------------------------------------------------------------- the deadline guard

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def fake_execute(clock, seconds):
    """A step that takes seconds[name] of fake time and finishes."""
    def execute(step, limit):
        taken = min(seconds[step.name], limit)
        clock.now += taken
        return device_run.Outcome(step, "finished" if taken == seconds[step.name] else "interrupted", seconds=taken)
    return execute


def test_a_step_whose_estimate_no_longer_fits_is_skipped_and_later_ones_still_run():
    clock = FakeClock()
    deadline = device_run.Deadline(100, clock)
    steps = [device_run.Step("a", "train", 30), device_run.Step("b", "train", 80), device_run.Step("c", "train", 20)]
    seen = []
    outcomes = device_run.run_steps(steps, deadline, fake_execute(clock, {"a": 30, "b": 80, "c": 20}),
                                    log=lambda *a: None, guard=device_run.Guard(factor=2, margin=30, reserve=10),
                                    after_step=lambda current: seen.append(len(current)))
    assert [o.status for o in outcomes] == ["finished", "skipped", "finished"]
    assert outcomes[0].limit == 90  # min(100 left - 10 reserve, 2 * 30 + 30)
    assert outcomes[2].limit == 60  # min(70 - 10, 2 * 20 + 30)
    assert seen == [1, 2, 3]  # results gathered after every step, skipped ones too


def test_estimates_are_rescaled_by_what_the_first_steps_measured():
    clock = FakeClock()
    steps = [device_run.Step("a", "train", 10), device_run.Step("b", "train", 30)]
    guard = device_run.Guard(factor=2, margin=0, reserve=0)
    # "a" takes twice its estimate, so "b" is expected to take 60 s, and 50 s are left.
    outcomes = device_run.run_steps(steps, device_run.Deadline(70, clock), fake_execute(clock, {"a": 20, "b": 30}),
                                    log=lambda *a: None, guard=guard)
    assert [o.status for o in outcomes] == ["finished", "skipped"]
    calibration = device_run.Calibration(low=0.5, high=3.0)
    for measured in (100, 100, 100):
        calibration.add(measured, 10)
    assert calibration.scale == 3.0  # kept within bounds


@pytest.fixture(params=["default", "ignored"])
def sigint_in_the_plan(request):
    """The plan's own SIGINT disposition: a shell starts a background job with it ignored."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN if request.param == "ignored" else previous_handler())
    yield request.param
    signal.signal(signal.SIGINT, previous)


def previous_handler():
    return signal.getsignal(signal.SIGINT)


def test_a_step_that_reaches_its_limit_is_stopped_with_sigint_and_keeps_what_it_printed(sigint_in_the_plan):
    lines = []
    child = textwrap.dedent("""
        import sys, time
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            print("interrupted after 2 epochs: recorded")
            sys.exit(130)
    """)
    done = device_run.run_limited([sys.executable, "-c", child], limit=2.0, grace=20,
                                  log=lambda line, prefix="": lines.append(line))
    assert done.stopped == "SIGINT"
    assert done.returncode == 130
    assert done.seconds < 15
    assert "interrupted after 2 epochs: recorded" in lines


def test_a_step_that_ignores_sigint_is_terminated_after_the_grace():
    child = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"
    done = device_run.run_limited([sys.executable, "-c", child], limit=2.0, log=lambda *a: None, grace=1.0)
    assert done.stopped == "SIGTERM"
    assert done.returncode == -signal.SIGTERM


def test_a_step_within_its_limit_runs_to_the_end():
    done = device_run.run_limited([sys.executable, "-c", "print('done')"], limit=60, log=lambda *a: None)
    assert (done.returncode, done.stopped) == (0, "")


def test_progress_bar_redraws_are_left_out_of_the_log():
    assert device_run.steps._visible("resnet20:  10%|#  | 20/195\rresnet20:  20%|## | 40/195\r\n") == \
        "resnet20:  20%|## | 40/195"
    assert device_run.steps._visible("\r      \r  epoch  1/40  train loss 1.9\n") == "  epoch  1/40  train loss 1.9"


# ---------------------------------------------------------------- the data

def image_tree(root, train=2, test=1, classes=("airplane", "truck")):
    """A tiny ImageFolder tree of real 32x32 JPEGs."""
    from PIL import Image

    for split, count in (("train", train), ("test", test)):
        for c, name in enumerate(classes):
            folder = root / "cifar10-jpeg" / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                Image.new("RGB", (32, 32), (40 * c, 20 * i, 100)).save(folder / f"{i:04d}.jpg", "JPEG")
    return root / "cifar10-jpeg"


def archive_of(tree, path):
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tree, arcname=tree.name)
    return path


def test_anything_but_the_whole_cifar10_is_refused(tmp_path):
    tree = image_tree(tmp_path / "src", train=3, test=1)
    assert device_run.count_images(tree) == {"train": 6, "test": 2}
    with pytest.raises(device_run.RefusedError, match="6 training and 2 test images.*50,000 and 10,000"):
        device_run.check_images(tree)
    assert device_run.check_images(tree, {"train": 6, "test": 2}) == {"train": 6, "test": 2}


def test_the_archive_is_unpacked_once_and_a_missing_one_is_refused(tmp_path):
    archive = archive_of(image_tree(tmp_path / "src"), tmp_path / "data.tar.gz")
    first = device_run.unpack(archive, tmp_path / "work")
    assert first.name == "cifar10-jpeg" and device_run.count_images(first) == {"train": 4, "test": 2}
    marker = first / "train" / "airplane" / "0000.jpg"
    stamp = marker.stat().st_mtime_ns
    assert device_run.unpack(archive, tmp_path / "work") == first
    assert marker.stat().st_mtime_ns == stamp  # a second plan on the same machine reuses it
    with pytest.raises(device_run.RefusedError, match="no data archive"):
        device_run.unpack(tmp_path / "missing.tar.gz", tmp_path / "work")


# ---------------------------------------------------------------- what travels back

def fake_record(name, recipe_name, finished=True, precision="auto", epochs=3):
    return {"name": name, "recipe_name": recipe_name, "epochs": epochs, "finished": finished,
            "interrupted": not finished, "diverged": False, "test_acc": 0.9, "train_acc": 0.95,
            "train_seconds": 1.5, "images_per_second": 1000.0, "recipe": {"precision": precision},
            "environment": {"device": "CPU"}}


def test_records_are_gathered_by_mode_and_device_without_partial_files(tmp_path):
    folder = tmp_path / "full-nvidia-h100"
    folder.mkdir()
    (folder / "resnet20.json").write_text(json.dumps(fake_record("resnet20", "resnet20")))
    (folder / ".resnet56.json.123.9.partial").write_text("{")
    grouped = device_run.with_driver(device_run.gather(tmp_path), "580.159.04")
    assert list(grouped) == ["full-nvidia-h100"]
    assert grouped["full-nvidia-h100"]["resnet20"]["environment"] == {"device": "CPU", "driver": "580.159.04"}


def test_publish_merges_finished_records_into_the_references(tmp_path, monkeypatch):
    from cnnlib import results

    monkeypatch.setattr(results, "REFERENCES", tmp_path / "references")
    returned = tmp_path / "plan1-records.json"
    returned.write_text(json.dumps({"full-nvidia-h100-80gb-hbm3": {
        "resnet20": fake_record("resnet20", "resnet20"),
        "vgg16": fake_record("vgg16", "vgg16", finished=False, epochs=7)}}))
    [written] = device_run.publish(returned)
    assert written == tmp_path / "references" / "full-nvidia-h100-80gb-hbm3.json"
    assert list(json.loads(written.read_text())) == ["resnet20"]
    device_run.publish(returned, include_interrupted=True)
    assert sorted(json.loads(written.read_text())) == ["resnet20", "vgg16"]


# ---------------------------------------------------------------- a whole plan, with stand-in steps

STUB = r'''
import json, os, pathlib, sys, time

args = sys.argv[1:]
if args[0] == "-c":  # the environment probe: a given answer, else the real Python's
    if os.environ.get("STUB_ENVIRONMENT"):
        sys.exit(print(os.environ["STUB_ENVIRONMENT"]))
    os.execv(sys.executable, [sys.executable] + args)
pathlib.Path(os.environ["STUB_CALLS"]).open("a").write(" ".join(args) + "\n")
folder = pathlib.Path(os.environ.get("CNNLIB_RESULTS", ".")) / "full-cpu"

def record(name, recipe_name, finished=True, precision="auto", epochs=3):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (recipe_name + precision + ".json")).write_text(json.dumps({
        "name": name, "recipe_name": recipe_name, "epochs": epochs, "finished": finished,
        "interrupted": not finished, "diverged": False, "test_acc": 0.5, "train_acc": 0.6 if "56" in name else 0.7,
        "train_seconds": 0.1, "images_per_second": 10.0, "recipe": {"precision": precision}, "environment": {}}))

if args[:2] == ["-m", "cnnlib"]:
    name = args[2]
    try:
        time.sleep(json.loads(os.environ.get("STUB_SLEEP", "{}")).get(name, 0))
    except KeyboardInterrupt:
        record(name, name, finished=False, epochs=1)
        sys.exit(130)
    record(name, name)
elif args[0].endswith("full_mode.py"):
    precision = args[args.index("--precision") + 1] if "--precision" in args else "auto"
    for name in args[args.index("--recipes") + 1:]:
        label = f"{name} [epochs=1" + (", precision=fp16]" if precision == "fp16" else "]")
        record(label, name, precision=precision, epochs=1)
elif args[0].endswith("pipeline.py"):
    pathlib.Path(args[args.index("--json") + 1]).write_text(json.dumps({"rows": [
        {"what": "feeding resnet20", "dataloader": 100.0, "cnnlib": 400.0, "ratio": 4.0}]}))
'''


@pytest.fixture
def stub_python(tmp_path, monkeypatch):
    script = tmp_path / "stub.py"
    script.write_text(STUB)
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("STUB_CALLS", str(tmp_path / "calls.txt"))
    return wrapper


def test_a_plan_trains_what_fits_stops_what_overruns_smokes_the_rest_and_brings_back_a_few_files(
        tmp_path, monkeypatch, stub_python):
    monkeypatch.setattr(device_run.plans, "PLANS", {"t": ("resnet20", "plain20", "googlenet", "resnet56",
                                                    device_run.PIPELINE),
                                              "u": ("plain56",)})
    monkeypatch.setattr(device_run.plans, "PIPELINE_SECONDS", 1.0)
    monkeypatch.setenv("STUB_SLEEP", json.dumps({"plain20": 60}))
    # Estimates here: 3 s for ResNet-20 and plain-20, 8 s for ResNet-56, 64 s for GoogLeNet (over the budget).
    speed = device_run.Speed(mixed_flops=2e14, fp32_flops=2e14, layer_seconds=1e-6, process_seconds=0.2,
                             warmup_seconds=0.1)
    expected = {"train": 4, "test": 2}
    archive = archive_of(image_tree(tmp_path / "src"), tmp_path / "data.tar.gz")
    results = tmp_path / "out"
    status = device_run.run_plan("t", results, budget=40, archive=archive, work=tmp_path / "work",
                                 python=str(stub_python), speed=speed, expected=expected, allow_cpu=True,
                                 guard=device_run.Guard(factor=1, margin=1.5, grace=10, reserve=1))
    assert status == 1  # not every recipe finished

    files = sorted(p.name for p in results.iterdir())
    assert files == ["plant-environment.json", "plant-log.txt", "plant-pipeline.json", "plant-records.json",
                     "plant-smoke.json", "plant-summary.txt"]
    assert len(files) <= 8 and all(TRAVEL_NAME.match(n) for n in files)
    assert all(p.is_file() for p in results.iterdir())

    trained = json.loads((results / "plant-records.json").read_text())["full-cpu"]
    assert sorted(trained) == ["plain20", "resnet20", "resnet56"]
    assert trained["plain20"]["interrupted"] and trained["plain20"]["epochs"] == 1
    assert trained["resnet20"]["finished"]
    smoked = json.loads((results / "plant-smoke.json").read_text())["full-cpu"]
    # Every recipe not trained gets its 1-epoch smoke: googlenet (skipped) and plain56 (another plan's).
    assert sorted(smoked) == ["googlenet [epochs=1]", "plain56 [epochs=1]", "resnet20 [epochs=1, precision=fp16]"]

    calls = (tmp_path / "calls.txt").read_text()
    assert "-m cnnlib googlenet" not in calls  # skipped: its estimate did not fit
    assert "--precision fp16 --recipes resnet20" in calls
    environment = json.loads((results / "plant-environment.json").read_text())
    assert environment["images"] == expected and "torch" in environment and "sha256" in environment["data"]

    summary = (results / "plant-summary.txt").read_text()
    assert re.search(r"googlenet\s+skipped", summary)
    assert re.search(r"plain20\s+interrupted\s+1", summary)
    assert "resnet20: 50.0% misses its target 91.0% by 41.0 points" in summary
    assert "feeding resnet20: DataLoader 100 images/s, cnnlib 400 images/s, 4.0x" in summary


def test_a_plan_refuses_the_wrong_images_before_training_anything(tmp_path, stub_python):
    archive = archive_of(image_tree(tmp_path / "src"), tmp_path / "data.tar.gz")
    results = tmp_path / "out"
    status = device_run.run_plan("1", results, budget=60, archive=archive, work=tmp_path / "work",
                                 python=str(stub_python), allow_cpu=True)
    assert status == 2
    assert "4 training and 2 test images" in (results / "plan1-summary.txt").read_text()
    assert "refused" in json.loads((results / "plan1-environment.json").read_text())
    assert not (tmp_path / "calls.txt").exists()  # no step ran
    assert not (results / "plan1-records.json").exists()


def test_a_plan_refuses_a_machine_without_a_gpu(tmp_path, monkeypatch, stub_python):
    monkeypatch.setenv("STUB_ENVIRONMENT", json.dumps({"torch": "2.11.0", "cuda_available": False}))
    archive = archive_of(image_tree(tmp_path / "src"), tmp_path / "data.tar.gz")
    results = tmp_path / "out"
    status = device_run.run_plan("1", results, budget=60, archive=archive, work=tmp_path / "work",
                                 python=str(stub_python), expected={"train": 4, "test": 2})
    assert status == 2
    assert "no CUDA GPU" in (results / "plan1-summary.txt").read_text()


def test_smokes_take_the_recipes_not_trained_in_plan_order_as_many_as_fit(monkeypatch):
    monkeypatch.setattr(device_run.plans, "PLANS", {"a": ("r1", "r2"), "b": ("r3", "r4")})
    monkeypatch.setattr(device_run.plans, "FP16_SMOKES", ("r1", "r9"))
    # One epoch of each costs its multiply-adds in seconds here; a process 10 s.
    speed = device_run.Speed(mixed_flops=2 * (3 * 50_000 + 10_000), layer_seconds=0, process_seconds=10,
                             warmup_seconds=0)
    costs = {n: device_run.Cost(n, 30, 250, seconds, 1, False) for n, seconds in
             (("r1", 5), ("r2", 5), ("r3", 20), ("r4", 10))}
    [smoke] = device_run.smoke_step("smoke", {"r1"}, costs, left=30, speed=speed)
    assert smoke.recipes == ("r2", "r4") and smoke.estimate == pytest.approx(25)  # r3 does not fit
    [fp16] = device_run.smoke_step("smoke-fp16", {"r1"}, costs, left=30, speed=speed)
    assert fp16.recipes == ("r1",) and fp16.kind == "smoke-fp16"
    assert device_run.smoke_step("smoke", set(), costs, left=12, speed=speed) == []
