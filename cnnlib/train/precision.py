"""Mixed precision and memory layout, chosen by the device a model trains on."""
import contextlib

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def autocast_dtype(device, precision="auto"):
    """The dtype autocast computes in on `device`, or None for float32.

    "auto": bf16 on CUDA GPUs of compute capability 8.0 and newer (A100, H100,
    RTX 30xx and later), fp16 on older ones (T4, V100), where cuDNN has no fast
    bf16 convolutions; float32 on the CPU. torch.cuda.is_bf16_supported() is
    not used: it answers True on a T4, where bf16 is emulated.
    "fp32", "bf16", "fp16": that precision on any device.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    device = torch.device(device)
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if device.type != "cuda":
        return None
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def gradient_scaler(device, dtype):
    """A GradScaler for fp16 (its small range needs the loss scaled up), else None."""
    if dtype != torch.float16:
        return None
    return torch.amp.GradScaler(torch.device(device).type)


def autocast(device, dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def memory_format(device):
    """channels_last on CUDA, where convolutions run faster in it; the default elsewhere."""
    return torch.channels_last if torch.device(device).type == "cuda" else torch.contiguous_format


def prepare_model(model, device):
    """Move `model` to `device`, in the memory layout that trains fastest there. A model that puts
    its parts on devices itself (`placed`, such as AlexNet's two towers) keeps them where they are."""
    if getattr(model, "placed", False):
        return model.to(memory_format=memory_format(device))
    return model.to(device=device, memory_format=memory_format(device))
