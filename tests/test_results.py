import json

import torch.nn as nn

from cnnlib import results, train


def test_record_and_load(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_VARIABLE, str(tmp_path))
    model = nn.Linear(4, 2)
    history = train.History(epoch=[1, 2], train_loss=[1.0, 0.5], train_acc=[0.5, 0.7], test_loss=[1.1, 0.8],
                            test_acc=[0.4, 0.6], lr=[0.1, 0.0], seconds=[2.0, 3.0],
                            images_per_second=[100.0, 120.0], meta={"model": "linear", "data": "embedded subset"})
    entry = results.record("linear", model, history, mode="quick", multiply_adds=8, notebook="00", device="cpu")
    assert entry["parameters"] == 10 and entry["test_acc"] == 0.6 and entry["train_seconds"] == 5.0
    saved = json.loads((tmp_path / "quick-cpu.json").read_text())
    assert saved["linear"]["images_per_second"] == 120.0
    assert results.load("quick", device="cpu")["linear"]["multiply_adds"] == 8
    assert list(results.load_all()) == ["quick-cpu"]
    # A second record of the same name replaces the first.
    results.record("linear", model, history, mode="quick", notebook="01", device="cpu")
    assert results.load("quick", device="cpu")["linear"]["notebook"] == "01"
