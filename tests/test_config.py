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
    monkeypatch.setenv(config.DATA_VARIABLE, str(tmp_path))
    assert config.data_folder() == tmp_path


@pytest.mark.parametrize("capability, architectures, runs", [
    ((6, 0), ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"], False),  # Kaggle's P100, current builds
    ((7, 5), ["sm_75", "sm_80", "sm_86", "sm_90"], True),                      # Colab's T4
    ((8, 9), ["sm_75", "sm_80", "sm_86", "sm_90"], True),                      # an L4: sm_86 kernels run on 8.9
    ((9, 0), ["sm_80", "sm_86", "compute_86"], True),                          # PTX, compiled when loaded
    ((6, 0), ["sm_50", "sm_60", "sm_70"], True),
    ((12, 0), ["sm_90a", "sm_100a"], False),
])
def test_a_gpu_runs_only_what_the_build_has_kernels_or_ptx_for(capability, architectures, runs):
    assert config.runs_on(*capability, architectures) is runs


def test_a_gpu_the_build_cannot_run_is_named_and_the_cpu_used(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (6, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla P100-PCIE-16GB")
    monkeypatch.setattr(torch.cuda, "get_arch_list", lambda: ["sm_75", "sm_80", "sm_90"])
    monkeypatch.setattr(config, "_unusable_gpu_told", [])
    monkeypatch.delenv(config.MODE_VARIABLE, raising=False)
    with pytest.warns(UserWarning, match=r"Tesla P100-PCIE-16GB \(compute capability 6.0\).*GPU T4 x2"):
        assert config.get_device() == torch.device("cpu")
    assert config.get_mode() == "quick"  # told once: no second warning


def test_paths_are_shown_by_their_variable_or_from_home(monkeypatch, tmp_path):
    monkeypatch.setenv(config.RESULTS_VARIABLE, str(tmp_path / "records"))
    monkeypatch.delenv(config.DATA_VARIABLE, raising=False)
    assert config.shown(tmp_path / "records" / "quick-cpu" / "checkpoints") == "$CNNLIB_RESULTS/quick-cpu/checkpoints"
    monkeypatch.delenv(config.RESULTS_VARIABLE)
    import pathlib

    assert config.shown(pathlib.Path.home() / ".cache" / "cnnlib") == "~/.cache/cnnlib"
    assert config.shown("/opt/elsewhere/x.pt") == "/opt/elsewhere/x.pt"
