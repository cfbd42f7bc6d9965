import json
import os
import statistics
import subprocess
import sys

import pytest
import torch

from cnnlib import cli, config, models, recipes, results
from cnnlib.train import checkpoints


pytestmark = pytest.mark.usefixtures("results_in_tmp")  # small_data and results_in_tmp: ../conftest.py


@pytest.mark.parametrize("name", recipes.names())
def test_every_quick_recipe_builds_a_model_that_classifies_cifar(name):
    recipe = recipes.get(name, "quick")
    model = models.create(recipe.model, **recipe.options)
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", recipes.names())
def test_full_recipes_are_at_least_as_large_as_quick_ones(name):
    quick, full = recipes.get(name, "quick"), recipes.get(name, "full")
    # in images seen: quick trains on at most the subset's 3,000 images, full on CIFAR-10's 50,000
    assert full.epochs * 50_000 >= quick.epochs * 3_000
    assert full.model == quick.model and full.mode == "full" and quick.mode == "quick"
    assert quick.name == full.name == name


def test_replace_merges_options_and_rejects_unknown_fields():
    recipe = recipes.get("baseline", "quick").replace(epochs=1, options={"num_classes": 5})
    assert recipe.epochs == 1 and recipe.options == {"width": 16, "num_classes": 5}
    with pytest.raises(TypeError, match="no field epoch"):
        recipe.replace(epoch=3)


def test_unknown_recipe_lists_the_recipes():
    with pytest.raises(KeyError, match="baseline"):
        recipes.get("resnet9000", "quick")


def test_a_changed_recipe_gets_its_own_record_name():
    standard = recipes.get("resnet56", "quick")
    assert standard.record_name() == "resnet56"
    assert standard.replace(epochs=standard.epochs).record_name() == "resnet56"  # unchanged is unchanged
    changed = standard.replace(epochs=10, options={"width": 16})
    assert changed.record_name() == "resnet56 [epochs=10, width=16]"
    assert standard.record_name(seed=3) == "resnet56 [seed=3]"


def test_run_trains_records_and_returns_what_it_used(small_data):
    run = recipes.run("baseline", small_data, seed=0, mode="quick", epochs=1, options={"width": 4},
                      progress=False, verbose=False, notebook="test")
    assert run.name == "baseline [epochs=1, width=4]"
    assert run.recipe.epochs == 1 and run.recipe.options["width"] == 4
    assert len(run.history) == 1 and run.history.meta["recipe"] == "baseline"
    record = results.load("quick", device="cpu")[run.name]
    assert record == run.record
    assert record["recipe_name"] == "baseline" and record["model"] == "cifar_baseline"
    assert record["parameters"] == sum(p.numel() for p in run.model.parameters())
    assert record["multiply_adds"] > record["parameters"]
    assert record["recipe"]["epochs"] == 1 and record["seed"] == 0 and record["notebook"] == "test"
    assert record["test_images"] == 100  # what the noise rule needs to judge a difference
    assert "baseline" not in results.load("quick", device="cpu")  # the standard record is left alone


def test_run_is_repeatable_for_a_seed(small_data):
    runs = [recipes.run("baseline", small_data, seed=1, mode="quick", epochs=1, options={"width": 4},
                        record=False, progress=False, verbose=False) for _ in range(2)]
    assert runs[0].history.step_loss == runs[1].history.step_loss
    assert runs[0].record is None


def test_command_line_trains_records_and_saves(tmp_path, capsys):
    path = tmp_path / "checkpoints" / "baseline.pt"
    code = cli.main(["baseline", "--mode", "quick", "--data", "embedded", "--epochs", "1",
                     "--checkpoint", str(path)])
    out = capsys.readouterr().out
    assert code == 0 and "History(1 epochs" in out and "recorded as 'baseline [epochs=1]'" in out
    saved = checkpoints.load_checkpoint(path)
    assert saved["training"]["settings"]["recipe"]["name"] == "baseline" and saved["meta"]["name"] == "baseline [epochs=1]"
    assert len(saved["history"]) == 1


@pytest.mark.parametrize("epochs", ["0", "-1"])
def test_command_line_refuses_a_budget_of_no_epochs(epochs, capsys):
    with pytest.raises(SystemExit):
        cli.main(["baseline", "--mode", "quick", "--epochs", epochs])
    assert "must be at least 1" in capsys.readouterr().err


def test_command_line_help_names_the_environment_variables():
    help_text = cli.parser().format_help()
    for variable in (config.MODE_VARIABLE, config.DATA_VARIABLE, results.RESULTS_VARIABLE):
        assert variable in help_text


def test_command_line_stopped_with_sigterm_keeps_its_finished_epochs(tmp_path):
    # `kill PID` is how a background run is stopped (a shell starts it with SIGINT ignored).
    path = tmp_path / "baseline.pt"
    environment = {**os.environ, "CNNLIB_RESULTS": str(tmp_path / "results"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "cnnlib", "baseline", "--mode", "quick", "--data", "embedded",
                                "--epochs", "10", "--checkpoint", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment)
    try:
        for line in process.stdout:
            if "epoch   1/10" in line:
                process.terminate()
                break
        out = process.stdout.read()
        assert process.wait(timeout=120) == 130
    finally:
        process.kill()
    assert "training interrupted after" in out and "recorded as 'baseline [epochs=10]'" in out
    saved = checkpoints.load_checkpoint(path)
    assert saved["history"].interrupted and 1 <= len(saved["history"]) < 10
    record, = (tmp_path / "results").glob("quick-*/*.json")
    assert json.loads(record.read_text())["interrupted"] is True


def test_python_dash_m_cnnlib_runs():
    result = subprocess.run([sys.executable, "-m", "cnnlib", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "RECIPE" in result.stdout


def test_a_seed_spread_comes_from_the_shipped_records_of_the_settings_seeds(small_data, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "REFERENCES", tmp_path / "references")
    job = recipes.job("baseline", epochs=1, options={"width": 4})
    assert recipes.seed_spread(job, "test_acc", "quick") is None  # nothing shipped
    runs = [recipes.run("baseline", small_data, seed=s, mode="quick", epochs=1, options={"width": 4},
                        score_training=True, progress=False, verbose=False) for s in range(3)]
    assert all(0 <= r.record["train_score"]["accuracy"] <= 1 for r in runs)
    results.publish("quick", "cpu")
    spread = recipes.seed_spread(job, "train_score", "quick")
    values = [r.record["train_score"]["accuracy"] for r in runs]
    assert spread.seeds == 3 and spread.sd == pytest.approx(statistics.stdev(values))
    assert recipes.seed_spread(job, "test_acc", "quick").seeds == 3


def test_a_recorded_sweep_names_its_best_rate_and_whether_a_rate_on_each_side_was_tried(small_data, tmp_path,
                                                                                        monkeypatch):
    monkeypatch.setattr(results, "REFERENCES", tmp_path / "references")
    options = dict(epochs=1, options={"width": 4})
    assert recipes.sweep("baseline", (0.01, 0.1), "test_acc", "quick", **options) == recipes.Sweep({}, None, False)
    for lr in (0.003, 0.03, 0.3):
        recipes.run("baseline", small_data, seed=100, mode="quick", lr=lr, progress=False, verbose=False, **options)
    results.publish("quick", "cpu")
    found = recipes.sweep("baseline", (0.003, 0.03, 0.3), "test_acc", "quick", **options)
    assert set(found.values) == {0.003, 0.03, 0.3} and found.best in found.values
    assert found.bracketed == (found.best == 0.03)
    edge = recipes.sweep("baseline", (0.003, 0.03), "test_acc", "quick", **options)
    assert not edge.bracketed  # the best of two is always on an edge
    assert recipes.recorded(recipes.job("baseline", 100, lr=0.03, **options), "quick")["seed"] == 100


def test_a_sweep_trains_the_rates_no_record_has_and_takes_a_function_of_the_record(small_data, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setattr(results, "REFERENCES", tmp_path / "references")
    options = dict(epochs=1, options={"width": 4})
    found = recipes.sweep("baseline", (0.003, 0.03, 0.3), lambda record: record["epochs"], "quick",
                          cifar=small_data, **options)
    assert found.values == {0.003: 1, 0.03: 1, 0.3: 1}
    trained = results.load("quick", device="cpu")
    assert {r["recipe"]["lr"] for r in trained.values() if r["seed"] == 100} == {0.003, 0.03, 0.3}
