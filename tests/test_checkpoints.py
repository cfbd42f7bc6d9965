import datetime
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn as nn

from cnnlib import config, data, models, recipes, train
from cnnlib.train import checkpoints


@pytest.fixture(scope="module")
def small_data():
    return data.load_cifar10("embedded", device="cpu", verbose=False).subset(train=512, test=200)


def tiny_model():
    config.seed_everything(0)
    return models.create("cifar_baseline", width=8)

def test_metadata_becomes_plain_values_or_is_refused_when_saving(tmp_path):
    model = nn.Linear(2, 2)
    path = tmp_path / "meta.pt"
    recipe = recipes.get("baseline", "quick")
    checkpoints.save_checkpoint(path, model, lr=np.logspace(-3, -1, 3)[1], steps=np.int64(7), folder=pathlib.Path("/x"),
                          when=datetime.date(2026, 11, 28), recipe=recipe)
    meta = checkpoints.load_checkpoint(path)["meta"]
    assert meta["lr"] == pytest.approx(0.01) and meta["steps"] == 7 and meta["folder"] == "/x"
    assert meta["when"] == "2026-11-28" and meta["recipe"]["model"] == "cifar_baseline"
    with pytest.raises(checkpoints.CheckpointError, match=r"metadata\['callback'\].*function"):
        checkpoints.save_checkpoint(tmp_path / "bad.pt", model, callback=print)
    assert not (tmp_path / "bad.pt").exists()


def test_a_run_killed_while_saving_leaves_the_old_checkpoint_intact(tmp_path):
    path = tmp_path / "model.pt"
    checkpoints.save_checkpoint(path, nn.Linear(4, 4), note="the good one")
    script = textwrap.dedent(f"""
        import os, torch
        from cnnlib.train import checkpoints
        real_save = torch.save
        def save_then_die(obj, target, *args, **kwargs):
            with open(target, "wb") as f:
                f.write(b"PK half a file")  # a partial write ...
            os._exit(9)                        # ... and the process is killed
        torch.save = save_then_die
        checkpoints.save_checkpoint({str(path)!r}, torch.nn.Linear(4, 4), note="never finished")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == 9
    assert checkpoints.load_checkpoint(path)["meta"] == {"note": "the good one"}


def test_a_truncated_checkpoint_is_named_and_explained(tmp_path):
    path = tmp_path / "cut.pt"
    checkpoints.save_checkpoint(path, nn.Linear(64, 64))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(checkpoints.CheckpointError, match=r"cut.pt is truncated or corrupt.*delete it"):
        checkpoints.load_checkpoint(path)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(checkpoints.CheckpointError, match="empty.pt is truncated"):
        checkpoints.load_checkpoint(tmp_path / "empty.pt")


def test_checkpoint_round_trip(small_data, tmp_path):
    model = tiny_model()
    history = train.fit(model, small_data, epochs=1, lr=0.05, batch_size=64, progress=False, verbose=False)
    path = tmp_path / "model.pt"
    checkpoints.save_checkpoint(path, model, history, recipe="baseline", mode="quick")
    fresh = models.create("cifar_baseline", width=8)
    saved = checkpoints.load_checkpoint(path, fresh)
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
    with pytest.raises(checkpoints.CheckpointError, match="refused to load"):
        checkpoints.load_checkpoint(path)
    assert not (tmp_path / "pwned-by-checkpoint").exists()


def test_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"something": torch.zeros(2)}, path)
    with pytest.raises(checkpoints.CheckpointError, match="no state_dict"):
        checkpoints.load_checkpoint(path)

