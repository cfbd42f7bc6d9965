"""A run stopped or killed anywhere resumes to the run that was never stopped.

Bit for bit on the CPU: torch keeps one thread in these tests, since another
thread count sums a convolution in another order (fit's CpuShare never goes
above the count it starts with).
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import torch.nn as nn

from cnnlib import config, data, models, recipes, results, train
from cnnlib.train import checkpoints, stopping


@pytest.fixture(scope="module")
def small_data():
    return data.load_cifar10("embedded", device="cpu", verbose=False).subset(train=512, test=200)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    train.clear_stop()
    yield
    train.clear_stop()
    torch.set_num_threads(threads)


def fresh_model(seed=0):
    """A small AlexNet: its dropout draws from torch's random stream at every step, the crops
    and flips at every epoch's start, so a resume that put back a wrong state would show."""
    config.seed_everything(seed)
    return models.create("cifar_alexnet", width=4)


FIT = dict(epochs=3, lr=0.05, batch_size=64, progress=False, verbose=False)


def stop_at_step(model, step, how="request"):
    """Make the stop button be pressed during training step number `step` (1-based)."""
    calls = {"n": 0}

    def hook(module, inputs):
        calls["n"] += module.training  # evaluation's forward passes are not steps
        if module.training and calls["n"] == step:
            if how == "signal":
                os.kill(os.getpid(), signal.SIGINT)  # what the stop button sends
            else:
                stopping.request_stop()

    return model.register_forward_pre_hook(hook)


def same_run(a, b):
    for name in ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "step_loss", "step_acc",
                 "measurements"):
        assert getattr(a, name) == getattr(b, name), name


def same_weights(a, b):
    for (key, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), key


@pytest.fixture(scope="module")
def uninterrupted(small_data, tmp_path_factory):
    torch.set_num_threads(1)
    model = fresh_model()
    history = train.fit(model, small_data, checkpoint=tmp_path_factory.mktemp("whole") / "run.pt", **FIT)
    return model, history


@pytest.fixture
def sigint_handled():
    """SIGINT with the handler a Python process starts with: a shell starts background jobs with
    SIGINT ignored, and fit leaves it ignored, so the signal would never reach it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("how", ["request", "signal"])
@pytest.mark.parametrize("stop_step", [3, 8, 11])  # in the first epoch, at its last step, inside the second
def test_a_run_stopped_between_steps_resumes_to_the_uninterrupted_run(small_data, tmp_path, uninterrupted,
                                                                       how, stop_step, capsys, sigint_handled):
    path = tmp_path / "run.pt"
    model = fresh_model()
    handle = stop_at_step(model, stop_step, how)
    stopped = train.fit(model, small_data, checkpoint=path, **FIT)
    handle.remove()
    assert stopped.interrupted and len(stopped) == (stop_step - 1) // 8
    saved = checkpoints.load_checkpoint(path)
    assert saved["training"]["step"] == stop_step  # the step in progress finished before it stopped
    assert saved["history"].interrupted  # a checkpoint of a run that has not ended says so

    train.clear_stop()
    resumed_model = fresh_model(seed=123)  # its own weights are replaced by the checkpoint's
    resumed = train.fit(resumed_model, small_data, checkpoint=path, resume=True, **FIT)
    assert "continuing from the checkpoint" in capsys.readouterr().out
    assert resumed.finished and not resumed.interrupted
    same_run(resumed, uninterrupted[1])
    same_weights(resumed_model, uninterrupted[0])


def test_a_checkpoint_inside_an_epoch_resumes_exactly(small_data, tmp_path, uninterrupted):
    # checkpoint_minutes=0: a checkpoint after every step. Keep the one written at step 11
    # (inside epoch 2), as if the process had been killed just after it.
    path = tmp_path / "run.pt"
    kept = tmp_path / "at-step-11.pt"
    model = fresh_model()

    def copy_after_step_11(module, inputs):
        if module.training and path.exists() and checkpoints.load_checkpoint(path)["training"]["step"] == 11 and not kept.exists():
            kept.write_bytes(path.read_bytes())

    model.register_forward_pre_hook(copy_after_step_11)
    train.fit(model, small_data, checkpoint=path, checkpoint_minutes=0, **FIT)
    assert checkpoints.load_checkpoint(kept)["training"]["partial"]["steps"] == 3
    resumed_model = fresh_model(seed=5)
    resumed = train.fit(resumed_model, small_data, checkpoint=kept, resume=True, **FIT)
    same_run(resumed, uninterrupted[1])
    same_weights(resumed_model, uninterrupted[0])


def test_a_finished_run_is_loaded_not_trained_again(small_data, tmp_path, capsys):
    path = tmp_path / "run.pt"
    model = fresh_model()
    first = train.fit(model, small_data, checkpoint=path, **FIT)
    again_model = fresh_model(seed=9)
    again = train.fit(again_model, small_data, checkpoint=path, resume=True, **FIT)
    assert "already trained" in capsys.readouterr().out
    assert again.finished and again.seconds == first.seconds  # the stored times: nothing ran
    same_weights(again_model, model)
    retrained = train.fit(fresh_model(), small_data, checkpoint=path, resume=False, **FIT)
    assert retrained.seconds != first.seconds and retrained.test_acc == first.test_acc


def test_what_on_epoch_returns_survives_a_resume(small_data, tmp_path):
    path = tmp_path / "run.pt"
    measure = lambda history, model: [len(history), round(history.train_loss[-1], 6)]  # noqa: E731
    model = fresh_model()
    handle = stop_at_step(model, 12)
    train.fit(model, small_data, checkpoint=path, on_epoch=measure, **FIT)
    handle.remove()
    train.clear_stop()
    resumed = train.fit(fresh_model(), small_data, checkpoint=path, resume=True, on_epoch=measure, **FIT)
    assert [m[0] for m in resumed.measurements] == [1, 2, 3]
    with pytest.raises(checkpoints.CheckpointError, match="what on_epoch returned"):
        train.fit(fresh_model(), small_data, epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False,
                  on_epoch=lambda history, model: model)


@pytest.mark.parametrize("change, named", [(dict(lr=0.1), "lr: checkpoint 0.05, now 0.1"),
                                           (dict(epochs=4), "epochs: checkpoint 3, now 4"),
                                           (dict(augment=False), "augment: checkpoint True, now False")])
def test_a_checkpoint_of_other_settings_is_refused_naming_the_difference(small_data, tmp_path, change, named):
    path = tmp_path / "run.pt"
    model = fresh_model()
    handle = stop_at_step(model, 5)
    train.fit(model, small_data, checkpoint=path, **FIT)
    handle.remove()
    train.clear_stop()
    with pytest.raises(checkpoints.CheckpointError, match="other settings") as refused:
        train.fit(fresh_model(), small_data, checkpoint=path, resume=True, **{**FIT, **change})
    assert named in str(refused.value) and "resume=False" in str(refused.value)
    with pytest.raises(checkpoints.CheckpointError, match=r"data\.") as other_data:
        train.fit(fresh_model(), small_data.subset(train=448), checkpoint=path, resume=True, **FIT)
    assert "train_images: checkpoint 512, now 448" in str(other_data.value)


def test_a_changed_recipe_is_refused_at_a_given_checkpoint_path(small_data, tmp_path):
    path = tmp_path / "alexnet.pt"
    options = dict(epochs=2, options={"width": 4}, progress=False, verbose=False, record=False)
    recipes.run("alexnet", small_data, mode="quick", checkpoint=path, **options)
    with pytest.raises(checkpoints.CheckpointError, match="recipe.name: checkpoint 'alexnet', now 'alexnet_no_dropout'.*"
                                                          "recipe.options.dropout"):
        recipes.run("alexnet_no_dropout", small_data, mode="quick", checkpoint=path, **options)
    with pytest.raises(checkpoints.CheckpointError, match="seed: checkpoint 0, now 1"):
        recipes.run("alexnet", small_data, mode="quick", seed=1, checkpoint=path, **options)


def test_a_checkpoint_cut_off_at_any_byte_is_named_and_the_previous_one_used(small_data, tmp_path, capsys):
    path = tmp_path / "run.pt"
    config.seed_everything(0)
    tiny = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 10))  # a small file to cut
    train.fit(tiny, small_data, epochs=2, lr=0.05, batch_size=64, progress=False, verbose=False, checkpoint=path)
    whole = path.read_bytes()
    previous = checkpoints.load_checkpoint(checkpoints.previous_path(path))
    assert len(previous["history"]) == 1 and len(checkpoints.load_checkpoint(path)["history"]) == 2
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole)
    for length in reversed(range(len(whole))):  # every byte at which a write can stop
        os.truncate(cut, length)
        with pytest.raises(checkpoints.DamagedCheckpoint, match="cut.pt is truncated or corrupt"):
            checkpoints.load_checkpoint(cut)
    messages = []
    for length in range(0, len(whole), max(1, len(whole) // 40)):
        path.write_bytes(whole[:length])
        saved = checkpoints.load_latest(path, say=messages.append)
        assert len(saved["history"]) == 1, length  # the previous checkpoint, named in one line
        assert messages.pop().endswith("using the previous checkpoint, run.previous.pt")
    path.write_bytes(whole[:len(whole) // 2])
    config.seed_everything(0)
    again = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 10))
    resumed = train.fit(again, small_data, epochs=2, lr=0.05, batch_size=64, progress=False, verbose=False,
                        checkpoint=path, resume=True)
    assert "is damaged" in capsys.readouterr().out and resumed.finished and len(resumed) == 2


def test_out_of_memory_keeps_the_finished_epochs_and_names_a_smaller_batch(small_data, monkeypatch, capsys):
    real_step = train.training_step
    calls = {"n": 0}

    def runs_out_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 10:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train.loop, "training_step", runs_out_in_epoch_two)
    history = train.fit(fresh_model(), small_data, **FIT)
    out = capsys.readouterr().out
    assert history.out_of_memory and not history.finished and len(history) == 1
    assert "at batch size 64" in out and "batch_size=32" in out and "lr=0.025" in out


def run_cli(arguments, results_folder, **popen):
    environment = {**os.environ, "CNNLIB_RESULTS": str(results_folder), "PYTHONUNBUFFERED": "1",
                   "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "cnnlib", *arguments], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=environment, **popen)


def test_a_run_killed_with_sigkill_inside_an_epoch_resumes_to_the_same_history(tmp_path):
    arguments = ["baseline", "--mode", "quick", "--data", "embedded", "--epochs", "2", "--checkpoint-minutes", "0.005"]
    whole = run_cli(arguments, tmp_path / "whole")
    whole_out = whole.communicate(timeout=600)[0]
    assert whole.returncode == 0, whole_out

    killed = run_cli(arguments, tmp_path / "killed")
    try:
        for line in killed.stdout:
            if "epoch   1/2" in line:
                break
        checkpoint = results.checkpoint_file("baseline [epochs=2]", "quick", "cpu")
        checkpoint = tmp_path / "killed" / checkpoint.relative_to(results.results_folder())
        for _ in range(2400):  # until a checkpoint inside epoch 2 exists (at most 2 minutes), then kill -9
            try:
                saved = checkpoints.load_checkpoint(checkpoint)
            except (FileNotFoundError, checkpoints.CheckpointError):
                saved = None
            if saved and len(saved["history"]) == 1 and (saved["training"]["partial"] or {}).get("steps", 0) > 3:
                break
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=60) == -signal.SIGKILL
    finally:
        killed.kill()
        killed.stdout.close()

    resumed = run_cli(arguments + ["--resume"], tmp_path / "killed")
    resumed_out = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0, resumed_out
    assert "continuing from the checkpoint" in resumed_out and "epoch 2 of 2 at its step" in resumed_out, resumed_out
    assert resumed_out.strip().splitlines()[-1] == whole_out.strip().splitlines()[-1]
    records = [json.loads(next(p.glob("quick-*/baseline*.json")).read_text()) for p in
               (tmp_path / "whole", tmp_path / "killed")]
    assert records[0]["history"] == records[1]["history"] and records[1]["finished"]
