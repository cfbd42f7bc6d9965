import os
import pickle

import pytest
import torch
import torch.nn as nn

from cnnlib import config, data, models, train


@pytest.fixture(scope="module")
def small_data():
    return data.load_cifar10("embedded", device="cpu", verbose=False).subset(train=512, test=200)


def tiny_model():
    config.seed_everything(0)
    return models.create("cifar_baseline", width=8)


def test_fit_lowers_the_loss_and_fills_the_history(small_data):
    model = tiny_model()
    before = train.evaluate(model, small_data)
    history = train.fit(model, small_data, epochs=3, lr=0.05, batch_size=64, progress=False, verbose=False)
    assert len(history) == 3 and history.epoch == [1, 2, 3]
    assert history.steps_per_epoch == 512 // 64
    assert len(history.step_loss) == 3 * history.steps_per_epoch
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.test_loss[-1] < before.loss
    assert all(s > 0 for s in history.seconds) and all(r > 0 for r in history.images_per_second)
    assert history.lr[-1] < history.lr[0] or history.lr[0] == pytest.approx(history.lr[-1])
    assert 0 <= history.final["test_acc"] <= 1
    assert not history.interrupted
    assert not model.training  # left in eval mode


def test_fit_is_repeatable_on_the_cpu(small_data):
    runs = []
    for _ in range(2):
        model = tiny_model()
        config.seed_everything(1)
        runs.append(train.fit(model, small_data, epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False))
    assert runs[0].step_loss == runs[1].step_loss


def test_interrupt_keeps_history_and_weights(small_data, tmp_path, capsys):
    model = tiny_model()
    calls = {"n": 0}
    forward = model.forward

    def interrupted_forward(x):
        calls["n"] += 1
        if calls["n"] == 12:  # the stop button, in the second epoch
            raise KeyboardInterrupt
        return forward(x)

    model.forward = interrupted_forward
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    path = tmp_path / "interrupted.pt"
    history = train.fit(model, small_data, epochs=5, lr=0.05, batch_size=64, progress=False,
                        verbose=False, checkpoint=path)
    assert history.interrupted
    assert len(history) == 1  # the first epoch finished and is kept
    assert "interrupted" in capsys.readouterr().out
    changed = any(not torch.equal(initial[k], v) for k, v in model.state_dict().items())
    assert changed  # the weights trained so far stay in the model
    saved = train.load_checkpoint(path)
    assert saved["history"].interrupted and len(saved["history"]) == 1


def test_checkpoint_round_trip(small_data, tmp_path):
    model = tiny_model()
    history = train.fit(model, small_data, epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False)
    path = tmp_path / "model.pt"
    train.save_checkpoint(path, model, history, recipe="baseline", mode="quick")
    fresh = models.create("cifar_baseline", width=8)
    saved = train.load_checkpoint(path, fresh)
    assert saved["meta"] == {"recipe": "baseline", "mode": "quick"}
    assert saved["history"].test_acc == history.test_acc
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def test_checkpoint_that_runs_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "payload": RunsCode()}, path)
    with pytest.raises(train.CheckpointError, match="refused to load"):
        train.load_checkpoint(path)
    assert not (tmp_path / "pwned-by-checkpoint").exists()


def test_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"something": torch.zeros(2)}, path)
    with pytest.raises(train.CheckpointError, match="no state_dict"):
        train.load_checkpoint(path)


def test_learning_rate_warms_up_then_decays():
    rates = [train.learning_rate(s, 100, 0.1, warmup=0.1) for s in range(100)]
    assert rates[0] == pytest.approx(0.01) and rates[9] == pytest.approx(0.1)
    assert rates[50] < rates[10] and rates[-1] < 0.01
    assert train.learning_rate(70, 100, 0.1, schedule="constant") == 0.1
    with pytest.raises(ValueError, match="unknown schedule"):
        train.learning_rate(0, 10, 0.1, schedule="cosine-ish")


def test_evaluate_counts_correct_predictions(small_data):
    class Oracle(nn.Module):
        def __init__(self, labels):
            super().__init__()
            self.labels = labels
            self.seen = 0

        def forward(self, x):
            y = self.labels[self.seen:self.seen + len(x)]
            self.seen += len(x)
            return nn.functional.one_hot(y, 10).float() * 10

    score = train.evaluate(Oracle(small_data.test_labels), small_data, batch_size=64)
    assert score.accuracy == 1.0 and score.loss < 1e-3


def test_history_round_trips_through_a_dict(small_data):
    history = train.History(epoch=[1], train_loss=[1.0], train_acc=[0.5], test_loss=[1.1], test_acc=[0.4],
                            lr=[0.1], seconds=[2.0], images_per_second=[100.0])
    again = train.History.from_dict(history.to_dict())
    assert again == history and "test acc 40.0%" in repr(again)
