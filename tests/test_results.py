import json
import pathlib
import subprocess
import sys
import textwrap

import pytest
import torch.nn as nn

from cnnlib import config, recipes, results, train


@pytest.fixture(autouse=True)
def results_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_VARIABLE, str(tmp_path / "results"))
    monkeypatch.setattr(results, "REFERENCES", tmp_path / "references")


def model():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))


def history(epochs=2, **flags):
    return train.History(epoch=list(range(1, epochs + 1)), train_loss=[1.0] * epochs, train_acc=[0.7] * epochs,
                         test_loss=[1.1] * epochs, test_acc=[0.6] * epochs, lr=[0.1] * epochs,
                         seconds=[2.0] * epochs, images_per_second=[120.0] * epochs, eval_seconds=[0.5] * epochs,
                         meta={"data": "embedded subset"}, **flags)


def test_record_and_load():
    recipe = recipes.get("baseline", "quick")
    entry = results.record(recipe, model(), history(), notebook="00")
    assert entry["name"] == "baseline" and entry["parameters"] == 3 * 4 * 9 + 4 + 4 * 10 + 10
    assert entry["test_acc"] == 0.6 and entry["train_seconds"] == 4.0 and entry["eval_seconds"] == 1.0
    # conv: 27 weights and a bias per output at 30x30, 4 channels; linear: 4 weights and a bias per class
    # (bias additions counted as one unit each, as torchinfo counts them)
    assert entry["multiply_adds"] == 4 * 30 * 30 * (27 + 1) + 10 * (4 + 1)
    assert entry["environment"]["torch"] and entry["finished"]
    assert results.load("quick", device="cpu") == {"baseline": entry}
    assert list(results.load_all()) == ["quick-cpu"]


def test_learners_records_go_to_the_cache_never_into_the_package(monkeypatch, tmp_path):
    monkeypatch.delenv(results.RESULTS_VARIABLE)
    monkeypatch.setenv(config.DATA_VARIABLE, str(tmp_path / "cache"))
    assert results.results_folder() == tmp_path / "cache" / "results"
    package = pathlib.Path(results.__file__).parent
    assert package not in results.results_folder().parents


def test_a_changed_recipe_never_replaces_the_standard_record():
    standard = recipes.get("resnet20", "quick")
    results.record(standard, model(), history())
    results.record(standard.replace(epochs=30), model(), history())
    assert sorted(results.load("quick", device="cpu")) == ["resnet20", "resnet20 [epochs=30]"]


def test_no_finished_epoch_is_not_recorded(capsys):
    assert results.record(recipes.get("baseline", "quick"), model(), history(epochs=0, interrupted=True)) is None
    assert results.load("quick", device="cpu") == {}
    assert "not recorded" in capsys.readouterr().out


def test_an_interrupted_run_never_replaces_a_finished_record(capsys):
    recipe = recipes.get("baseline", "quick")
    finished = results.record(recipe, model(), history(epochs=8))
    assert results.record(recipe, model(), history(epochs=3, interrupted=True)) is None
    assert results.load("quick", device="cpu")["baseline"] == finished
    assert "finished record of 8 epochs" in capsys.readouterr().out
    other = recipes.get("vgg16", "quick")
    assert results.record(other, model(), history(epochs=3, interrupted=True))["interrupted"]  # nothing to keep


def test_a_write_is_atomic(monkeypatch, tmp_path):
    path = tmp_path / "results" / "one.json"
    results.write_json(path, {"a": 1})

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pathlib.Path, "write_text", fail)
    with pytest.raises(OSError):
        results.write_json(path, {"a": 2})
    assert json.loads(path.read_bytes()) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["one.json"]  # no partial file left behind


def test_two_processes_recording_at_once_lose_nothing(tmp_path):
    script = textwrap.dedent("""
        import sys, torch.nn as nn
        from cnnlib import recipes, results, train
        writer = sys.argv[1]
        h = train.History(epoch=[1], train_loss=[1.0], train_acc=[0.5], test_loss=[1.0], test_acc=[0.5],
                          lr=[0.1], seconds=[1.0], images_per_second=[1.0], eval_seconds=[0.1])
        recipe = recipes.get("baseline", "quick")
        for i in range(60):
            # half the names shared by both writers, half their own
            name_seed = i if i % 2 else 1000 + i + (100 if writer == "b" else 0)
            results.record(recipe, nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 2)), h, seed=name_seed)
    """)
    env = {**__import__("os").environ, results.RESULTS_VARIABLE: str(tmp_path / "shared")}
    writers = [subprocess.Popen([sys.executable, "-c", script, w], env=env) for w in ("a", "b")]
    assert [w.wait() for w in writers] == [0, 0]
    folder = tmp_path / "shared" / "quick-cpu"
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")]  # every file is whole JSON
    assert len(records) == 30 + 2 * 30
    assert not list(folder.glob(".*partial"))


def test_a_published_record_names_its_image_folder_without_the_machine_path():
    results.record(recipes.get("resnet20", "full"), model(), history(epochs=3))
    folder = results.records_folder("full", "cpu")
    record_file, = folder.glob("*.json")
    entry = json.loads(record_file.read_text())
    entry["data"] = "ImageFolder /tmp/work-123/data/cifar10-jpeg"
    record_file.write_text(json.dumps(entry))
    [target] = results.publish("full", "cpu")
    shipped = json.loads(target.read_text())
    assert shipped["resnet20"]["data"] == "ImageFolder cifar10-jpeg"


def test_references_are_published_by_the_maintainer_and_read_back():
    assert results.reference("resnet20") is None
    assert "no full-mode reference" in results.describe_reference("resnet20")
    results.record(recipes.get("resnet20", "full"), model(), history(epochs=40))
    [target] = results.publish("full", "cpu")
    assert target.parent == results.REFERENCES and target.name == "full-cpu.json"
    reference = results.reference("resnet20", mode="full")
    assert reference["epochs"] == 40
    line = results.describe_reference("resnet20")
    assert "60.0% test accuracy after 40 epochs" in line and "not measured now" in line


def test_a_claim_check_is_recorded_published_and_shown_beside_a_learners_row():
    from cnnlib import claims

    check = claims.ClaimCheck("Claim check (test)", notebook="05_resnet")
    check.experiment("S-1", "plain-56 minus plain-20: +19.5 points", claims.compare(0.805, 0.61, 3000))
    path = check.save(mode="quick", device="cpu")
    assert path.parent.name == "claims" and path.parent.parent == results.records_folder("quick", "cpu")
    written = results.publish("quick", "cpu", label="cpu-reference")
    assert [p.relative_to(results.REFERENCES).as_posix() for p in written] == ["claims/cpu-reference.json"]
    line = results.describe_claim("S-1", label="cpu-reference", notebook="05_resnet")
    assert line.startswith("holds · 성립") and "+19.5 points" in line and "not measured now" in line
    learner = claims.ClaimCheck("Claim check (learner)", notebook="05_resnet")
    learner.experiment("S-1", "a short run", claims.compare(0.62, 0.61, 1000))
    row = learner.rows[-1]
    assert row.verdict == claims.INCONCLUSIVE and row.reference == line  # the recorded row beside
    assert results.describe_claim("S-1", notebook="02_alexnet") == ""  # nothing shipped for that notebook
    assert "without it" in results.describe_claim("S-2", notebook="05_resnet")
    assert not learner.needs("S-3", {"resnet20": None}, ("resnet20", "resnet56"))
    missing = learner.rows[-1]
    assert missing.verdict == claims.INCONCLUSIVE and "resnet56 did not train" in missing.measured
