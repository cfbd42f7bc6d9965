"""Data parallel training with torchrun: two CPU processes over gloo (cnnlib.train.distributed)."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from cnnlib import claims, results
from cnnlib.train import checkpoints, distributed


def launch(arguments, results_folder, processes=2):
    """`torchrun --nproc_per_node=N -m cnnlib ...` (or plain `python -m cnnlib` for one process)."""
    environment = {**os.environ, "CNNLIB_RESULTS": str(results_folder), "PYTHONUNBUFFERED": "1",
                   "OMP_NUM_THREADS": "1"}
    if processes == 1:
        command = [sys.executable, "-m", "cnnlib", *arguments]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                   "-m", "cnnlib", *arguments]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)


def finish(process, timeout=600):
    out = process.communicate(timeout=timeout)[0]
    assert process.returncode == 0, out
    return out


def the_record(folder):
    found = list(pathlib.Path(folder).glob("quick-*/*.json"))
    assert len(found) == 1, found  # recorded once, by rank 0
    return json.loads(found[0].read_text())


def the_checkpoint(folder):
    found = [p for p in pathlib.Path(folder).glob("quick-*/checkpoints/*.pt") if ".previous" not in p.name]
    return checkpoints.load_checkpoint(found[0])


def test_two_processes_train_the_one_process_run_without_batch_norm(tmp_path):
    # alexnet_fig1_relu: four convolutions, no batch norm, no dropout: the mean of the two halves'
    # gradients is the gradient of the whole batch, so the runs differ only in float rounding.
    arguments = ["alexnet_fig1_relu", "--mode", "quick", "--data", "embedded", "--epochs", "1"]
    two, one = launch(arguments, tmp_path / "two"), launch(arguments, tmp_path / "one", processes=1)
    out = finish(two)
    finish(one)
    assert "(2 processes)" in out and out.count("Loaded Cifar10") == 1  # rank 0 speaks for both
    steps_two = the_checkpoint(tmp_path / "two")["history"].step_loss
    steps_one = the_checkpoint(tmp_path / "one")["history"].step_loss
    assert len(steps_two) == len(steps_one) == 3000 // 64
    assert steps_two[:10] == pytest.approx(steps_one[:10], rel=1e-5)
    assert steps_two == pytest.approx(steps_one, rel=1e-3)  # rounding grows, step by step, and stays small
    record_two, record_one = the_record(tmp_path / "two"), the_record(tmp_path / "one")
    assert record_two["history"]["train_loss"] == pytest.approx(record_one["history"]["train_loss"], rel=1e-3)


def test_two_processes_with_batch_norm_reach_the_same_accuracy_within_the_noise(tmp_path):
    # Each process normalizes over its 32 of the 64 images: another computation, the same accuracy.
    arguments = ["baseline", "--mode", "quick", "--data", "embedded", "--epochs", "3"]
    two, one = launch(arguments, tmp_path / "two"), launch(arguments, tmp_path / "one", processes=1)
    finish(two)
    finish(one)
    record_two, record_one = the_record(tmp_path / "two"), the_record(tmp_path / "one")
    assert record_two["test_acc"] > 0.25 and record_one["test_acc"] > 0.25  # both learned
    difference = claims.compare(record_two["test_acc"], record_one["test_acc"], record_one["test_images"])
    assert not difference.decided, difference


def test_a_stop_stops_both_processes_at_the_same_step_and_keeps_the_finished_epochs(tmp_path):
    process = launch(["baseline", "--mode", "quick", "--data", "embedded", "--epochs", "10"], tmp_path / "run")
    try:
        for line in process.stdout:
            if "epoch   1/10" in line:
                process.send_signal(signal.SIGTERM)  # torchrun passes it to both workers
                break
        out = process.stdout.read()
        assert process.wait(timeout=120) != 0
    finally:
        process.kill()
    assert "training interrupted after" in out
    record = the_record(tmp_path / "run")
    assert record["interrupted"] and 1 <= record["epochs"] < 10
    saved = the_checkpoint(tmp_path / "run")
    assert saved["training"]["settings"]["processes"] == 2 and saved["history"].interrupted


def test_a_process_that_dies_ends_the_run_instead_of_leaving_the_other_waiting(tmp_path):
    process = launch(["baseline", "--mode", "quick", "--data", "embedded", "--epochs", "20"], tmp_path / "run")
    try:
        for line in process.stdout:
            if "epoch   2/20" in line:  # 20 epochs: a line every second epoch
                break
        children = pathlib.Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
        workers = [int(pid) for pid in children.split()]
        assert len(workers) == 2
        os.kill(workers[1], signal.SIGKILL)
        start = time.monotonic()
        process.stdout.read()
        assert process.wait(timeout=180) != 0
        assert time.monotonic() - start < 180
    finally:
        process.kill()
    for pid in workers:
        assert not pathlib.Path(f"/proc/{pid}").exists() or "zombie" in pathlib.Path(f"/proc/{pid}/status").read_text()


def test_alone_nothing_is_distributed():
    assert distributed.start() is None and distributed.size() == 1 and distributed.rank() == 0
    assert distributed.share(64) == 64
    assert results.RESULTS_VARIABLE == "CNNLIB_RESULTS"
