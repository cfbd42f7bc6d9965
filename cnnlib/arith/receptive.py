"""receptive_field: the one entry point for a list of layer specs or any nn.Module."""
import math

import torch.nn as nn

from .cost import conv_parameters
from .fields import ReceptiveField, Recorder, pair
from .layers import Layer
from .tracing import trace


def receptive_field(layers, input_size=224, in_channels=None):
    """Receptive field of every layer of a network at input_size (int or (height, width)).

    layers is a list of specs (conv, pool, fc) or any nn.Module. Where paths
    meet (add, cat) the field is the union of the paths' fields: the largest
    one when their centres align, as in Distill.

    A module is traced through one forward pass (arith.tracing). Supported:
    convolutions, max/average/adaptive pooling, F.pad, strided slicing,
    add/cat, per-position operations (activations, normalization, dropout,
    channel shuffles) and flattening or global pooling (the whole map).
    Refused with a TracingError naming the operation and the module:
    upsampling, transposed convolutions, pixel (un)shuffle, torch.roll, other
    operations that move positions or change a map's size, and a path that
    depends on the input's values (data-dependent control flow).
    """
    input_size = pair(input_size)  # (C, H, W) works too: the last two numbers count
    if isinstance(layers, nn.Module):
        return trace(layers, input_size, in_channels)
    layers = list(layers)
    if not all(isinstance(layer, Layer) for layer in layers):
        raise TypeError("receptive_field takes an nn.Module or a list of conv(), pool() and fc() specs")
    return _receptive_field_of_specs(layers, input_size)


def _receptive_field_of_specs(layers, input_size):
    channels = layers[0].in_channels if layers else None  # of the map flowing through, when known
    rec = Recorder(input_size, channels)
    axes = rec.rows[0].axes
    for index, layer in enumerate(layers, 1):
        name = layer.name or f"{layer.kind}{index}"
        kernel, stride, padding = layer.kernel, layer.stride, layer.padding
        if layer.kind == "fc":  # a window over the whole map
            kernel = stride = tuple(f.map_size for f in axes)
            padding = 0
        parameters = 0  # pooling
        if layer.kind in ("conv", "fc"):
            c_in = layer.in_channels if layer.in_channels is not None else channels
            channels = layer.out_channels
            known = c_in is not None and channels is not None
            parameters = conv_parameters(1 if layer.kind == "fc" else kernel, c_in, channels, layer.groups,
                                     layer.bias) if known else None
        axes = rec.window(name, layer.kind, axes, kernel, stride, padding, layer.dilation, layer.ceil_mode,
                          channels=channels, parameters=parameters)
        rec.rows[-1].parents = (len(rec.rows) - 2,)
        if parameters is not None:  # torchinfo's convention, see arith.cost
            rec.rows[-1].multiply_adds = parameters * math.prod(f.map_size for f in axes)
    return ReceptiveField(rec, input_size)
