"""Sharing a small CPU with other trainings (a second notebook, the tests beside a notebook)."""
import os
import time

import torch


class CpuShare:
    """Share a small CPU with other work: fit calls `adapt` about once a second.

    torch splits each operation over all cores. When another process trains
    too (a second notebook, the tests beside a notebook), both sets of threads
    contend for the cores, and on 2 cores each training ran 5.4x slower than
    alone (benchmarks/threads.py). adapt() measures how many cores other
    processes used since its last call (Linux's /proc/stat against this
    process's CPU time) and gives torch the rest, at least one thread and at
    most the number it had at the start: two trainings then each ran 1.7x
    slower (two jobs on two cores must run at least 1.6x slower here), and one
    alone lost nothing. OpenMP's wait policy helps less (1.9x with
    OMP_WAIT_POLICY=PASSIVE), and it must be set before torch loads.
    Where /proc/stat does not exist (macOS, Windows) it changes nothing.
    """

    def __init__(self):
        self.cores = os.cpu_count() or 1
        self.start_threads = torch.get_num_threads()
        self.threads = self.start_threads
        self.last = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as stat:
                ticks = [int(value) for value in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
        return time.perf_counter(), busy, time.process_time()

    def adapt(self):
        """Set torch's threads to the cores the other processes left free; returns the count."""
        now = self._sample()
        if now is None or self.last is None or now[0] - self.last[0] < 0.05:
            return self.threads
        others = ((now[1] - self.last[1]) - (now[2] - self.last[2])) / (now[0] - self.last[0])
        self.last = now
        threads = max(1, min(self.start_threads, round(self.cores - others)))
        if threads != self.threads:
            torch.set_num_threads(threads)
            self.threads = threads
        return threads

    def restore(self):
        torch.set_num_threads(self.start_threads)


def cpu_threads():
    """How torch uses the CPU here, in one line."""
    return (f"{torch.get_num_threads()} CPU threads; while training, cnnlib gives torch only the cores "
            f"other processes leave free (checked every second)")
