"""Data parallel training over several processes, with PyTorch's own engine.

    torchrun --nproc_per_node=2 -m cnnlib baseline --mode quick

torchrun starts the processes and sets RANK, WORLD_SIZE and LOCAL_RANK;
`start` joins them into a process group (NCCL between GPUs, gloo on CPUs),
one GPU per process. fit then wraps the model in DistributedDataParallel:
every process holds the whole split on its own device, draws the same
epoch (the same crops and order, from a generator seeded alike), and trains
on its share of each global batch; DDP averages the gradients, so the step
is the recipe's step on the recipe's batch, at the recipe's learning rate.
Dropout draws from each process's own stream. Batch norm keeps per-process
statistics (each process normalizes over its share of the batch), as
DistributedDataParallel does by default: SyncBatchNorm would add a
collective to every batch-norm layer of every step (19 in ResNet-20), which
over gloo on a CPU costs more than the layer, for shares of the batch (32 of
the quick recipes' 64 on two processes) that are big enough to normalize
over. Evaluation, the checkpoint and the record happen once, on rank 0,
which sends its test score to the others. A stop in any process is agreed
on by all after the step in progress, so they stop at the same step; when a
process dies, torchrun stops the others. A checkpoint is written at the end
of each epoch and at a stop (not every few minutes inside an epoch), and a
resumed run continues with fresh dropout streams: exact resumption is a
one-process property.

Without torchrun (WORLD_SIZE unset or 1) nothing here runs: a run is exactly
the one-process run.
"""
import datetime
import os

import torch
import torch.distributed as dist

TIMEOUT = datetime.timedelta(minutes=10)  # a process that waits longer for its peers gives up


def start():
    """Join the processes torchrun started; returns this process's device, or None when alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or dist.is_initialized():
        return None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"torchrun started {world_size} processes on this machine, but it has "
                               f"{torch.cuda.device_count()} GPU(s): use --nproc_per_node={torch.cuda.device_count()}")
        torch.cuda.set_device(local_rank)
        device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
        local_size = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_size))  # the processes share the cores
    dist.init_process_group(backend, timeout=TIMEOUT)
    return device


def stop():
    if dist.is_initialized():
        dist.destroy_process_group()


def rank():
    return dist.get_rank() if dist.is_initialized() else 0


def size():
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main():
    return rank() == 0


def share(batch_size):
    """This process's share of a global batch; the batch must divide evenly."""
    processes = size()
    if batch_size % processes:
        raise ValueError(f"batch size {batch_size} does not divide among {processes} processes: "
                         f"use a multiple of {processes}")
    return batch_size // processes


def wrap(model, device):
    """The model as DDP trains it (the model itself when alone)."""
    if size() == 1:
        return model
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)


def mean(tensor):
    """The mean over the processes of `tensor` (the tensor itself when alone)."""
    if size() == 1:
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor)
    return tensor / size()


def anyone(flag, device):
    """True when `flag` is True in any process: how the processes agree to stop at the same step."""
    if size() == 1:
        return bool(flag)
    value = torch.tensor([int(bool(flag))], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def from_main(value):
    """Rank 0's `value` (a picklable object), in every process."""
    if size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value):
    """Every process's `value`, in rank order, in every process."""
    if size() == 1:
        return [value]
    values = [None] * size()
    dist.all_gather_object(values, value)
    return values
