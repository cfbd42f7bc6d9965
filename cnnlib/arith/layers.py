"""Layer specs: a network written by hand as a list of conv(), pool() and fc(),
for the arithmetic without building any module."""
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Layer:
    """One layer of a hand-built stack; make it with conv(), pool() or fc().

    kind is "conv", "maxpool", "avgpool" or "fc". Layers are square: one
    kernel, stride, padding and dilation for both axes. An fc layer has no
    kernel: it connects to the whole map.
    """
    kind: str
    kernel: Optional[int] = None
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    ceil_mode: bool = False
    in_channels: Optional[int] = None
    out_channels: Optional[int] = None
    groups: int = 1
    bias: bool = True
    name: Optional[str] = None


def conv(kernel, stride=1, padding=0, dilation=1, in_channels=None, out_channels=None,
         groups=1, bias=True, name=None):
    """A square convolution; give the channels to get its parameters and multiply-adds."""
    if kernel < 1 or stride < 1 or dilation < 1 or padding < 0:
        raise ValueError("kernel, stride and dilation must be at least 1 and padding at least 0")
    return Layer("conv", kernel, stride, padding, dilation, False, in_channels, out_channels, groups, bias, name)


def pool(kernel, stride=None, padding=0, dilation=1, name=None, kind="max", ceil_mode=False):
    """A square max or average pooling; the stride defaults to the kernel, as in PyTorch."""
    if kind not in ("max", "avg"):
        raise ValueError(f"pooling kind must be 'max' or 'avg', got {kind!r}")
    if kind == "avg" and dilation != 1:
        raise ValueError("average pooling has no dilation in PyTorch")
    return Layer(f"{kind}pool", kernel, stride or kernel, padding, dilation, ceil_mode, name=name)


def fc(in_features, out_features, bias=True, name=None):
    """A fully connected layer on the flattened map: it sees the whole map."""
    return Layer("fc", in_channels=in_features, out_channels=out_features, bias=bias, name=name)
