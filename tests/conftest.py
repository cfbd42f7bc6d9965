"""Fixtures shared by the test modules that train."""
import pytest

from cnnlib import data, results, train


@pytest.fixture(scope="session")
def small_data():
    """256 training and 100 test images of the embedded subset, on the CPU."""
    return data.load_cifar10("embedded", device="cpu", verbose=False).subset(train=256, test=100)


@pytest.fixture
def results_in_tmp(tmp_path, monkeypatch):
    """Records and checkpoints in a temporary folder, and no stop requested by an earlier test."""
    monkeypatch.setenv(results.RESULTS_VARIABLE, str(tmp_path / "results"))
    train.clear_stop()
