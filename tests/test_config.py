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


def test_a_bad_mode_variable_is_named(monkeypatch):
    monkeypatch.setenv(config.MODE_VARIABLE, "bogus")
    with pytest.raises(ValueError, match=r"\$CNNLIB_MODE is 'bogus'.*quick, full"):
        config.get_mode()


def test_cache_folder_follows_its_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(config.CACHE_VARIABLE, str(tmp_path))
    assert config.cache_dir() == tmp_path


def test_importing_cnnlib_before_torch_shortens_openmp_spinning():
    import subprocess
    import sys

    probe = "import os, cnnlib, torch; print(os.environ['GOMP_SPINCOUNT'])"
    env = {k: v for k, v in __import__("os").environ.items() if k != "GOMP_SPINCOUNT"}
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout.strip() == "1000"
    mine = subprocess.run([sys.executable, "-c", probe], env={**env, "GOMP_SPINCOUNT": "5"}, capture_output=True,
                          text=True).stdout.strip()
    assert mine == "5"  # a user's own setting is kept
    assert "threads" in config.cpu_threads()
