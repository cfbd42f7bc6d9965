"""cnnlib: the small library shared by the notebooks of *CNN architectures, hands-on*."""
import os

__version__ = "0.2.0"

# Idle OpenMP threads (torch's CPU threads) spin for a long while before they
# sleep. When two trainings share a small machine (two notebooks, or the tests
# beside a notebook) the spinning threads take each other's cores: measured on
# 2 cores, each training ran 3.6x slower than alone. A short spin keeps one
# training's speed (5.6 s against 5.5 s) and shares fairly (each 2.0x slower,
# as two jobs on two cores must be): benchmarks/threads.py. OpenMP reads this
# when torch loads, so it counts where cnnlib is imported before torch, as the
# notebooks and `python -m cnnlib` do; a value set by the user is kept.
OPENMP_SPIN = "1000"
os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN)
