import pytest
import torch

from cnnlib import config


def test_default_mode_follows_the_hardware(monkeypatch):
    monkeypatch.delenv(config.MODE_VARIABLE, raising=False)
    assert config.get_mode() == ("full" if torch.cuda.is_available() else "quick")


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv(config.MODE_VARIABLE, "quick")
    assert config.get_mode() == "quick"


def test_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv(config.MODE_VARIABLE, "full")
    assert config.get_mode(" Quick ") == "quick"


def test_unknown_mode_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv(config.MODE_VARIABLE, "fast")
    with pytest.raises(ValueError, match="quick, full"):
        config.get_mode()


def test_full_mode_without_gpu_warns_and_goes_on(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="without a CUDA GPU"):
        assert config.get_mode("full") == "full"


def test_seeds_make_random_numbers_repeat():
    config.seed_everything(3)
    a = torch.rand(5)
    config.seed_everything(3)
    assert torch.equal(a, torch.rand(5))
