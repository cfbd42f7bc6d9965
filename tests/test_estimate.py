"""The time said before a run: what the probe measures, and that it changes nothing.

How close the estimate comes to the measured time is a benchmark
(benchmarks/estimate.py), not a test: timings depend on the machine."""
import pytest
import torch

from cnnlib import data, recipes, train
from cnnlib.train import estimate


@pytest.fixture(scope="module")
def small_data():
    return data.load_cifar10("embedded", device="cpu", verbose=False).subset(train=512, test=200)


def test_the_probe_changes_neither_the_model_nor_the_random_stream(small_data):
    recipe = recipes.get("alexnet", "quick").replace(options={"width": 4})
    model = recipes.build(recipe, seed=3)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    found = estimate.probe(model, small_data, recipe.batch_size)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert found.multiply_adds == estimate.multiply_adds(model) > 0
    assert found.train_rate > 0 and found.eval_rate > 0 and found.steps >= estimate.MIN_STEPS


def test_a_probed_run_is_the_run_without_the_probe(small_data):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # another thread count sums in another order (see tests/test_resume.py)
    plain = recipes.run("baseline", small_data, seed=2, mode="quick", epochs=1, options={"width": 4},
                        record=False, progress=False, verbose=False, announce=False)
    announced = recipes.run("baseline", small_data, seed=2, mode="quick", epochs=1, options={"width": 4},
                            record=False, progress=False, verbose=False, announce=True)
    torch.set_num_threads(threads)
    assert plain.history.step_loss == announced.history.step_loss


def test_seconds_add_up_the_epochs_from_the_rates():
    probe = estimate.Probe(multiply_adds=1000, train_rate=3000 * 64, eval_rate=1000 * 100, epoch_overhead=0.5,
                           steps=3)
    # per epoch: 10 steps of 64 images at one second each, 200 test images at 100 per second, the draws
    assert estimate.seconds(probe, 4, 10, 64, 200) == pytest.approx(4 * (10 + 2 + 0.5))
    assert estimate.seconds(probe, 4, 10, 64, 200, test_flip=True) == pytest.approx(4 * (10 + 4 + 0.5))
    assert estimate.seconds(probe, 4, 10, 64, 200, done_fraction=0.75) == pytest.approx(12.5)
    assert estimate.seconds(probe, 1, 10, 64, 200, multiply_adds=2000) == pytest.approx(2 * 12 + 0.5)
    # scored after epochs 2 and 4 of 4 (and not 1 and 3): two evaluations of 2 s
    assert estimate.seconds(probe, 4, 10, 64, 200, evaluate_every=2) == pytest.approx(4 * 10.5 + 2 * 2)


def test_one_probe_serves_a_family_and_a_finished_run_costs_nothing(small_data, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLIB_RESULTS", str(tmp_path))
    probed = []
    real_probe = estimate.probe
    monkeypatch.setattr(estimate, "probe", lambda model, *a, **k: probed.append(type(model).__name__) or
                        real_probe(model, *a, **k))
    jobs = [recipes.job(name, epochs=1, options={"width": 4}) for name in ("resnet20", "resnet56", "plain20")]
    plan = recipes.plan(jobs, small_data, "quick")
    assert len(probed) == 2  # ResNet-56 is timed from ResNet-20's probe and its own multiply-adds
    assert plan.seconds[1] > 2 * plan.seconds[0] and "This cell trains 3 runs" in str(plan)
    recipes.run("resnet20", small_data, mode="quick", epochs=1, options={"width": 4}, progress=False,
                verbose=False)
    again = recipes.plan(jobs, small_data, "quick")
    assert again.loaded == [True, False, False] and again.seconds[0] == 0
    assert "1 finished before and is loaded" in str(again)


def test_a_long_cell_says_how_many_epochs_fit_in_twenty_minutes():
    hint = estimate.shorten_hint(3600, "cuda", epochs=60)
    assert "EPOCHS = 20" in hint and "about 20 minutes" in hint
    assert estimate.shorten_hint(600, "cuda", epochs=60) == ""
    assert "quick mode" in estimate.shorten_hint(7200, "cpu", epochs=30)


@pytest.mark.parametrize("seconds, shown", [(0.3, "under a second"), (12.4, "12 s"), (150, "2.5 minutes"), (3 * 3600, "3.0 hours")])
def test_durations_read_as_a_learner_reads_them(seconds, shown):
    assert estimate.duration(seconds) == shown


def test_the_machine_is_named_with_its_threads():
    assert estimate.machine("cpu") == f"this CPU ({torch.get_num_threads()} threads)"
    assert train.autocast_dtype("cpu") is None
