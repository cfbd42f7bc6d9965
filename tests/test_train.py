
import pytest
import torch
import torch.nn as nn

from cnnlib import config, data, models, recipes, train
from cnnlib.data import batches
from cnnlib.train import checkpoints


@pytest.fixture(scope="module")
def small_data():
    return data.load_cifar10("embedded", device="cpu", verbose=False).subset(train=512, test=200)


@pytest.fixture(autouse=True)
def no_stop_request():
    train.clear_stop()  # a test that presses "stop" must not stop the next test's training
    yield
    train.clear_stop()


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
    assert len(history.eval_seconds) == 3  # evaluation is timed apart from training
    assert history.lr[-1] < history.lr[0] or history.lr[0] == pytest.approx(history.lr[-1])
    assert 0 <= history.final["test_acc"] <= 1
    assert not history.interrupted
    assert not model.training  # left in eval mode


def test_fit_is_repeatable_on_the_cpu(small_data):
    # At one thread count: fit's CpuShare lowers it while other processes load the CPU, and
    # another count sums a convolution in another order (tests/test_resume.py says more).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    runs = []
    for _ in range(2):
        model = tiny_model()
        config.seed_everything(1)
        runs.append(train.fit(model, small_data, epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False))
    torch.set_num_threads(threads)
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
    saved = checkpoints.load_checkpoint(path)
    assert saved["history"].interrupted and len(saved["history"]) == 1


def test_one_stop_press_skips_the_rest_of_the_cells_training(small_data, capsys):
    first = tiny_model()
    first.forward = lambda x: (_ for _ in ()).throw(KeyboardInterrupt)  # pressed at the first step
    stopped = train.fit(first, small_data, epochs=2, lr=0.05, batch_size=64, progress=False, verbose=False)
    second = train.fit(tiny_model(), small_data, epochs=2, lr=0.05, batch_size=64, progress=False, verbose=False)
    assert stopped.interrupted and len(stopped) == 0
    assert second.interrupted and len(second) == 0  # a loop over models stops too
    assert "not trained" in capsys.readouterr().out
    train.clear_stop()  # what the next notebook cell does
    third = train.fit(tiny_model(), small_data, epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False)
    assert third.finished


def test_divergence_stops_training_and_keeps_the_last_finite_weights(small_data, capsys):
    config.seed_everything(0)
    model = models.create("cifar_deep_plain", depth=4, activation="relu", width=8)  # no batch norm to tame it
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    history = train.fit(model, small_data, epochs=5, lr=1e4, batch_size=64, schedule="constant",
                        progress=False, verbose=False)
    assert history.diverged and not history.finished
    assert len(history) < 5
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())
    if len(history) == 1:  # diverged in the first epoch: the initial weights are back
        assert all(torch.equal(initial[k], v) for k, v in model.state_dict().items() if "running" not in k)
    assert "diverged" in capsys.readouterr().out


@pytest.mark.parametrize("capability, expected", [((7, 5), torch.float16), ((8, 0), torch.bfloat16),
                                                  ((9, 0), torch.bfloat16), ((6, 1), torch.float16)])
def test_mixed_precision_follows_the_gpus_compute_capability(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # a T4 answers True too
    assert train.autocast_dtype(torch.device("cuda"), "auto") == expected
    scaler = train.gradient_scaler("cpu", expected)  # fp16 needs a GradScaler, bf16 does not
    assert (scaler is not None) == (expected == torch.float16)


def test_precision_on_the_cpu_and_by_request():
    assert train.autocast_dtype("cpu") is None
    assert train.autocast_dtype("cuda", "fp32") is None
    assert train.autocast_dtype("cpu", "fp16") == torch.float16
    with pytest.raises(ValueError, match="unknown precision"):
        train.autocast_dtype("cpu", "fp8")


def test_a_training_step_with_a_gradient_scaler(small_data):
    model = tiny_model()
    optimizer = train.sgd(model, 0.05)
    scaler = train.gradient_scaler("cpu", torch.float16)
    images, labels = next(iter(small_data.train_batches(32)))
    before = [p.detach().clone() for p in model.parameters()]
    loss, logits = train.training_step(model, optimizer, images, labels, torch.float16, scaler)
    assert logits.dtype == torch.float16 and torch.isfinite(loss)
    assert scaler.get_scale() > 1  # the loss was scaled up before backward
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_the_notebook_01_recipes_train_in_float32_everywhere():
    for name in ("deep_plain_sigmoid", "deep_plain_tanh", "deep_plain_relu", "alexnet_fig1_tanh", "alexnet_fig1_relu"):
        for mode in config.MODES:
            assert recipes.get(name, mode).precision == "fp32", (name, mode)


def test_evaluate_leaves_the_model_as_it_was_and_scores_any_split(small_data):
    model = tiny_model().train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    test = train.evaluate(model, small_data)
    on_train = train.evaluate(model, small_data, split="train")
    assert model.training  # mode restored
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # batch norm stats untouched
    assert next(model.parameters()).is_contiguous()  # layout untouched
    assert 0 <= test.accuracy <= 1 and 0 <= on_train.accuracy <= 1 and test.loss != on_train.loss


@pytest.mark.parametrize("bad, message", [(dict(epochs=0), "epochs must be"), (dict(epochs=-1), "epochs must be"),
                                          (dict(lr=0), "lr must be"), (dict(batch_size=100_000), "larger than")])
def test_a_budget_that_makes_no_sense_is_refused_before_training(small_data, bad, message):
    options = dict(epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False) | bad
    with pytest.raises(ValueError, match=message):
        train.fit(tiny_model(), small_data, **options)


def test_checkpoint_into_a_missing_folder_creates_it(small_data, tmp_path):
    path = tmp_path / "runs" / "deeper" / "x.pt"
    history = train.fit(tiny_model(), small_data, epochs=1, lr=0.05, batch_size=64, progress=False,
                        verbose=False, checkpoint=path)
    assert checkpoints.load_checkpoint(path)["history"].epoch == history.epoch


def test_an_unwritable_checkpoint_path_fails_before_training(small_data, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    model = tiny_model()
    with pytest.raises(checkpoints.CheckpointError, match="cannot create the folder"):
        train.fit(model, small_data, epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False,
                  checkpoint=blocker / "x.pt")


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


def test_step_error_is_a_trailing_mean_of_the_training_error():
    history = train.History(step_acc=[0.0, 0.5, 1.0, 0.5])
    assert history.step_error() == pytest.approx([1.0, 0.5, 0.0, 0.5])
    assert history.step_error(window=2) == pytest.approx([1.0, 0.75, 0.25, 0.25])


def test_flip_test_time_augmentation_averages_an_image_and_its_mirror(small_data):
    model = tiny_model().eval()
    images, labels = small_data.split("test")
    with torch.no_grad():
        x = batches.normalize(images)
        logits = (model(x) + model(x.flip(3))) / 2
    expected = (logits.argmax(1) == labels).float().mean().item()
    assert train.evaluate(model, small_data, flip=True).accuracy == pytest.approx(expected)
    assert train.evaluate(model, small_data, flip=False).accuracy == pytest.approx(
        (model(x).argmax(1) == labels).float().mean().item())


def test_fit_leaves_torchs_thread_count_as_it_found_it(small_data):
    before = torch.get_num_threads()
    train.fit(tiny_model(), small_data, epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False)
    assert torch.get_num_threads() == before


def test_evaluate_every_scores_the_test_split_only_every_so_many_epochs_and_after_the_last(small_data):
    history = train.fit(tiny_model(), small_data, epochs=5, lr=0.05, batch_size=64, evaluate_every=2,
                        progress=False, verbose=False)
    assert [a is not None for a in history.test_acc] == [False, True, False, True, True]
    assert history.final["test_acc"] is not None and history.finished
    assert repr(history).startswith("History(5 epochs")
