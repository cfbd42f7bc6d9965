"""The explorer's pure work: presets, the arithmetic of a stack for one output unit,
and the effective field of a stand-in network, refused above a cost bound."""
import functools
from dataclasses import dataclass
from typing import NamedTuple, Optional

import torch
import torch.nn as nn

from .. import arith
from ..models.init import he_initialize
from .layer_text import IN_CHANNELS


def _presets():
    c = 64
    return {
        "VGG-16 (Table 1, column D)": (arith.vgg_stack(16), 224),
        "VGG-16, fc6-fc8 as convolutions": (arith.vgg_stack(16, classifier=True), 224),
        "VGG-11 (Table 1, column A)": (arith.vgg_stack(11), 224),
        "one VGG stage: two 3x3 convolutions, 2x2 pool": (
            [arith.conv(3, padding=1, in_channels=c, out_channels=c, name=f"conv{i}") for i in (1, 2)]
            + [arith.pool(2, name="pool")], 32),
        "two 3x3 convolutions (64 channels)": (
            [arith.conv(3, in_channels=c, out_channels=c, name=f"conv{i}") for i in (1, 2)], 32),
        "one 5x5 convolution (64 channels)": ([arith.conv(5, in_channels=c, out_channels=c, name="conv1")], 32),
        "three 3x3 convolutions (64 channels)": (
            [arith.conv(3, in_channels=c, out_channels=c, name=f"conv{i}") for i in (1, 2, 3)], 32),
        "one 7x7 convolution (64 channels)": ([arith.conv(7, in_channels=c, out_channels=c, name="conv1")], 32),
        "AlexNet (torchvision's features)": (arith.alexnet_stack(), 224),
        "dilated 3x3 stack (dilations 1, 2, 4, 8)": (arith.dilated_stack(channels=c), 64),
    }


PRESETS = _presets()  # name -> (layers, input size)
CUSTOM = "(custom: edit the layers)"


@dataclass(frozen=True)
class TableRow:
    """One line of the explorer's table: a layer and the map after it."""
    name: str
    kind: str
    kernel: Optional[int]
    stride: Optional[int]
    padding: Optional[int]
    dilation: Optional[int]
    map_size: int
    field_size: int    # receptive field, input pixels
    jump: int          # effective stride, input pixels between neighbouring units
    parameters: Optional[int]
    multiply_adds: Optional[int]


@dataclass(frozen=True)
class Exploration:
    """What explore() found. message is None when the settings make sense; rows
    then cover every layer, else the layers before the mistake."""
    layers: tuple
    input_size: int
    position: tuple
    rows: tuple = ()
    message: Optional[str] = None
    field_size: Optional[int] = None
    jump: Optional[int] = None
    effective_padding: Optional[int] = None
    map_size: Optional[int] = None
    box: Optional[tuple] = None     # ((top, bottom), (left, right)), inclusive, may reach outside the image
    total_parameters: Optional[int] = None
    total_multiply_adds: Optional[int] = None

    @property
    def ok(self):
        return self.message is None

    def summary(self):
        if not self.ok:
            return self.message
        (top, bottom), (left, right) = self.box
        n = self.input_size

        def span(first, last):
            outside = max(0, -first) + max(0, last - (n - 1))
            return f"{first}..{last}" + (f" ({outside} px of them outside the image)" if outside else "")

        return (f"Receptive field {self.field_size}x{self.field_size} px, effective stride {self.jump} px, "
                f"output map {self.map_size}x{self.map_size}. Unit ({self.position[0]}, {self.position[1]}) "
                f"sees rows {span(top, bottom)} and columns {span(left, right)}.")


def _rows(field):
    return tuple(TableRow(row.name, row.kind, row.kernel, row.stride, row.padding, row.dilation,
                          row.map_size, row.field_size, row.jump, row.parameters, row.multiply_adds)
                 for row in field.rows if row.kind != "input")


def explore(layers, input_size, position=(0, 0)):
    """Receptive-field arithmetic of a square stack at a square input, for one output unit.

    Returns an Exploration; settings that make no sense (an input below 1 px,
    a layer whose output would be smaller than 1, a position outside the
    output map) give a message instead of raising.
    """
    layers, position = tuple(layers), tuple(int(p) for p in position)
    base = dict(layers=layers, input_size=int(input_size), position=position)
    if input_size < 1:
        return Exploration(**base, message=f"The input must be at least 1 px wide (got {input_size}).")
    if not layers:
        return Exploration(**base, message="There are no layers.")
    n = input_size
    for index, layer in enumerate(layers):
        try:
            n = arith.output_size(n, layer.kernel, layer.stride, layer.padding, layer.dilation, layer.ceil_mode)
        except ValueError as error:
            name = layer.name or f"{layer.kind}{index + 1}"
            before = _rows(arith.receptive_field(layers[:index], input_size)) if index else ()
            return Exploration(**base, rows=before, message=(
                f"Layer {index + 1} ({name}) gets a {n}x{n} map: {error}. Make the input larger, "
                f"or use less stride or more padding before it."))
    field = arith.receptive_field(list(layers), input_size)
    # The last layer's map, even when a layer sees its whole input map (arith then reports the
    # map before it; the explorer follows the stack to its end, as its table does).
    last = field.rows[-1]
    found = dict(rows=_rows(field), field_size=last.field_size, jump=last.jump,
                 effective_padding=last.effective_padding, map_size=last.map_size,
                 total_parameters=field.total_parameters, total_multiply_adds=field.total_multiply_adds)
    if not all(0 <= p < last.map_size for p in position):
        return Exploration(**base, **found, message=(
            f"Position {position} is outside the {last.map_size}x{last.map_size} output map "
            f"(rows and columns run from 0 to {last.map_size - 1})."))
    return Exploration(**base, **found, box=field.box(*position, layer=len(field.rows) - 1))


# The effective field, measured on a stand-in network ----------------------------------

# One CPU core does about a billion per second, forward and backward: a few seconds at most.
# Every preset fits at the largest input (512 px): VGG-16's stand-in needs 1.3 billion there,
# the dilated stack 2.1; "conv 301 p150" at 224 px would need 436 billion.
MULTIPLY_ADD_LIMIT = 4_000_000_000
PARAMETER_LIMIT = 20_000_000  # 80 MB of weights; "conv 10000 p5000" would hold 2,400 million


class TooCostly(ValueError):
    """The stand-in network for an effective field would take too long or too much memory."""


class LayerCost(NamedTuple):
    layer: object
    map_size: int       # of the map it reads
    multiply_adds: int  # over the batch; a pooling counts one per value its windows read
    weights: int


def _stand_in_costs(layers, input_size, channels, batch_size):
    """The cost of each layer of the stand-in network (build_network)."""
    costs, n, c_in = [], input_size, IN_CHANNELS
    for layer in layers:
        n_out = arith.output_size(n, layer.kernel, layer.stride, layer.padding, layer.dilation, layer.ceil_mode)
        if layer.kind == "conv":
            weights = arith.conv_parameters(layer.kernel, c_in, channels)
            costs.append(LayerCost(layer, n, batch_size * weights * n_out * n_out, weights))
            c_in = channels
        else:
            costs.append(LayerCost(layer, n, batch_size * layer.kernel ** 2 * c_in * n_out * n_out, 0))
        n = n_out
    return costs


def _largest_share(costs, what):
    """Where most of a total goes, e.g. '100% of them in conv1 (301x301 window on a 224x224 map)'."""
    worst = max(costs, key=lambda c: getattr(c, what))
    share = getattr(worst, what) / sum(getattr(c, what) for c in costs)
    name, k, n = worst.layer.name or worst.layer.kind, worst.layer.kernel, worst.map_size
    return f"{share:.0%} of them in {name} ({k}x{k} window on a {n}x{n} map)"


def check_effective_field_cost(layers, input_size, channels=8, batch_size=4):
    """Raise TooCostly, saying why and what to change, when the stand-in network's forward
    pass over the batch would exceed MULTIPLY_ADD_LIMIT or its weights PARAMETER_LIMIT."""
    costs = _stand_in_costs(layers, input_size, channels, batch_size)
    advice = "Use smaller kernels, a smaller input or fewer layers, or untick 'effective field'."
    weights = sum(c.weights for c in costs)
    if weights > PARAMETER_LIMIT:
        raise TooCostly(f"The effective field is not measured: its stand-in network ({channels} channels per "
                        f"convolution) would hold {weights / 1e6:,.0f} million weights (the limit is "
                        f"{PARAMETER_LIMIT / 1e6:.0f} million), {_largest_share(costs, 'weights')}. {advice}")
    work = sum(c.multiply_adds for c in costs)
    if work > MULTIPLY_ADD_LIMIT:
        raise TooCostly(f"The effective field is not measured: its stand-in network would do {work / 1e9:,.1f} "
                        f"billion multiply-adds on {batch_size} images (the limit is {MULTIPLY_ADD_LIMIT / 1e9:.0f} "
                        f"billion, seconds of work), {_largest_share(costs, 'multiply_adds')}. {advice}")


def build_network(layers, channels=8, in_channels=IN_CHANNELS):
    """An nn.Sequential with the layers' geometry and `channels` channels per
    convolution, a ReLU after every convolution but the last: a stand-in
    network for measuring an effective field. He initialization and zero biases,
    so the signal keeps its size through a deep stack of few channels (with
    PyTorch's default initialization a 13-layer stack of 4 channels passes no
    gradient at all)."""
    convs = [i for i, spec in enumerate(layers) if spec.kind == "conv"]
    modules, c = [], in_channels
    for i, spec in enumerate(layers):
        if spec.kind == "conv":
            conv = nn.Conv2d(c, channels, spec.kernel, spec.stride, spec.padding, spec.dilation)
            he_initialize(conv, mode="fan_in")  # before the next layer's default initialization draws
            modules.append(conv)
            c = channels
            if i != convs[-1]:
                modules.append(nn.ReLU())
        elif spec.kind == "maxpool":
            modules.append(nn.MaxPool2d(spec.kernel, spec.stride, spec.padding, spec.dilation,
                                        ceil_mode=spec.ceil_mode))
        elif spec.kind == "avgpool":
            modules.append(nn.AvgPool2d(spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode))
        else:
            raise ValueError(f"no module for a {spec.kind!r} layer")
    return nn.Sequential(*modules)


@functools.lru_cache(maxsize=32)
def _effective_field(layers, input_size, position, channels, batch_size, seed):
    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream alone
        torch.manual_seed(seed)
        model = build_network(layers, channels)
        return arith.effective_receptive_field(model, (IN_CHANNELS, input_size, input_size), position=position,
                                               batch_size=batch_size)


def effective_field(layers, input_size, position, channels=8, batch_size=4, seed=0):
    """The effective receptive field of output unit `position` of a random-init
    stand-in network (build_network), averaged over `batch_size` noise images:
    an (input_size, input_size) map with maximum 1. Seeded, so repeatable; cached.
    Raises TooCostly above the cost bound (check_effective_field_cost)."""
    check_effective_field_cost(layers, input_size, channels, batch_size)
    return _effective_field(tuple(layers), int(input_size), tuple(position), channels, batch_size, seed).clone()


def effective_field_span(erf, mass=0.95, axis=1):
    """(first, last) input pixel of the central interval holding `mass` of the
    gradient along one axis (axis=1: columns, summed over rows); None when no
    gradient reached the input."""
    profile = erf.sum(dim=1 - axis).double()
    if not profile.sum() > 0:
        return None
    cumulative = profile.cumsum(0) / profile.sum()
    tail = (1 - mass) / 2
    first = int(torch.searchsorted(cumulative, torch.tensor(tail, dtype=torch.float64)))
    last = int(torch.searchsorted(cumulative, torch.tensor(1 - tail, dtype=torch.float64)))
    return first, min(last, len(profile) - 1)
