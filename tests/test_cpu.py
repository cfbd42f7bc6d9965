"""Sharing a small CPU with other trainings (cnnlib.train.cpu)."""
import torch

from cnnlib.train import cpu


def test_cpu_share_gives_torch_the_cores_other_processes_leave(monkeypatch):
    samples = iter([(0.0, 0.0, 0.0),      # wall, busy CPU seconds of the machine, of this process
                    (1.0, 2.0, 1.0),      # one core busy elsewhere for a second
                    (2.0, 4.0, 3.0),      # nothing elsewhere
                    (3.0, 5.9, 3.9)])     # most of a core elsewhere
    monkeypatch.setattr(cpu.CpuShare, "_sample", staticmethod(lambda: next(samples)))
    monkeypatch.setattr(cpu.os, "cpu_count", lambda: 2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        share = cpu.CpuShare()
        assert share.adapt() == 1 and torch.get_num_threads() == 1
        assert share.adapt() == 2 and torch.get_num_threads() == 2
        assert share.adapt() == 1
        share.restore()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_cpu_share_changes_nothing_without_proc_stat(monkeypatch):
    monkeypatch.setattr(cpu.CpuShare, "_sample", staticmethod(lambda: None))
    share = cpu.CpuShare()
    assert share.adapt() == share.start_threads == torch.get_num_threads()
    assert "threads" in cpu.cpu_threads()
