"""Training: the loop, and what keeps a long run alive and honest about its time.

    loop.py         fit; one SGD step; the learning-rate schedule
    evaluation.py   evaluate: a model's loss and accuracy on a split
    precision.py    mixed precision and memory layout, by device
    history.py      History: the record of a run
    checkpoints.py  a run's state on disk: saved atomically, loaded with weights_only
    stopping.py     the stop button: a training stops between two steps
    cpu.py          sharing a small CPU with other trainings
    distributed.py  data parallel over processes started by torchrun
    estimate.py     how long a run will take, said before it starts

`from cnnlib import train` gives the names a notebook uses: train.fit,
train.evaluate, train.History, train.autocast_dtype, train.clear_stop, ...
"""
from .history import EPOCH_FIELDS, History
from .evaluation import Score, evaluate
from .loop import fit, learning_rate, sgd, training_step
from .precision import PRECISIONS, autocast_dtype, gradient_scaler, memory_format, prepare_model
from .cpu import cpu_threads
from .stopping import clear_stop

__all__ = ["EPOCH_FIELDS", "History", "Score", "evaluate", "fit", "learning_rate", "sgd", "training_step",
           "PRECISIONS", "autocast_dtype", "gradient_scaler", "memory_format", "prepare_model", "cpu_threads", "clear_stop"]
