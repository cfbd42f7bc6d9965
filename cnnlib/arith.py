"""The arithmetic of convolutional networks, by formula.

1. Output size of a convolution or pooling (Dumoulin & Visin 2016, "A guide
   to convolution arithmetic for deep learning", Sec. 2-5).
2. Layer specs and preset stacks (VGG-16, AlexNet, a dilated stack) to build
   networks by hand, as the receptive-field explorer does.
3. Receptive fields by Distill's recurrences (Araujo, Norris & Sim 2019,
   "Computing Receptive Fields of Convolutional Neural Networks"), for a list
   of specs or for any nn.Module, branches (add, cat) included.
4. Parameters and multiply-adds per layer.
5. The effective receptive field (Luo, Li, Urtasun & Zemel 2016,
   "Understanding the Effective Receptive Field in Deep CNNs"): where inside
   the theoretical field the gradient really lands.

Along one axis, a map is described by four numbers (Distill's notation):
its size, the field size r of one unit, the jump j (input pixels between
neighbouring units: the effective stride) and the effective padding p
(unit 0's field starts at input pixel -p). Unit i then sees the input pixels
-p + i*j to -p + i*j + r - 1, inclusive; a field may reach outside the image.
"""
import contextlib
import math
from dataclasses import dataclass, field, replace
from typing import Optional

import torch
import torch.nn as nn

__all__ = [
    "output_size", "Layer", "conv", "pool", "fc", "vgg16_stack", "alexnet_stack", "dilated_stack",
    "Field", "Row", "ReceptiveField", "receptive_field",
    "conv_parameters", "conv_multiply_adds", "ParameterTable", "parameter_table",
    "effective_receptive_field",
]


# 1. Output size ---------------------------------------------------------------

def output_size(n, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
    """Output size along one axis: floor((n + 2*padding - dilation*(kernel-1) - 1) / stride) + 1.

    ceil_mode (pooling) rounds up instead, but, as in PyTorch, drops a last
    window that would start inside the right padding.
    """
    span = dilation * (kernel - 1) + 1  # the window's extent, holes included
    room = n + 2 * padding - span
    out = (room + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    if out < 1:
        raise ValueError(
            f"output size would be {out}: a window of {span} px (kernel {kernel}, dilation {dilation}) "
            f"does not fit in {n} px of input with {padding} px of padding on each side"
        )
    return out


# 2. Layer specs and presets ---------------------------------------------------

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


VGG16_CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16_stack(classifier=False):
    """VGG-16's features (Simonyan & Zisserman 2015, Table 1, column D): 13 3x3
    convolutions with padding 1 in five stages, each stage closed by 2x2 max
    pooling of stride 2. Field 212, effective stride 32 at pool5.

    classifier=True appends fc6-fc8 as convolutions (7x7, 1x1, 1x1), the way
    the paper runs them at test time (Sec. 3.2); the parameters then equal
    torchvision's vgg16 (138,357,544).
    """
    layers, c_in, stage, index = [], 3, 1, 1
    for v in VGG16_CONFIG:
        if v == "M":
            layers.append(pool(2, name=f"pool{stage}"))
            stage, index = stage + 1, 1
        else:
            layers.append(conv(3, padding=1, in_channels=c_in, out_channels=v, name=f"conv{stage}_{index}"))
            c_in, index = v, index + 1
    if classifier:
        layers += [conv(7, in_channels=512, out_channels=4096, name="fc6"),
                   conv(1, in_channels=4096, out_channels=4096, name="fc7"),
                   conv(1, in_channels=4096, out_channels=1000, name="fc8")]
    return layers


def alexnet_stack(classifier=False):
    """torchvision's alexnet().features: the one-tower AlexNet of Krizhevsky
    2014 ("One weird trick", 64-192-384-256-256 channels). Field 195 at pool5.

    classifier=True appends fc6-fc8 as convolutions (6x6 on the 6x6 map at a
    224 input, then 1x1); the parameters then equal torchvision's alexnet (61,100,840).
    """
    layers = [
        conv(11, stride=4, padding=2, in_channels=3, out_channels=64, name="conv1"),
        pool(3, stride=2, name="pool1"),
        conv(5, padding=2, in_channels=64, out_channels=192, name="conv2"),
        pool(3, stride=2, name="pool2"),
        conv(3, padding=1, in_channels=192, out_channels=384, name="conv3"),
        conv(3, padding=1, in_channels=384, out_channels=256, name="conv4"),
        conv(3, padding=1, in_channels=256, out_channels=256, name="conv5"),
        pool(3, stride=2, name="pool5"),
    ]
    if classifier:
        layers += [conv(6, in_channels=256, out_channels=4096, name="fc6"),
                   conv(1, in_channels=4096, out_channels=4096, name="fc7"),
                   conv(1, in_channels=4096, out_channels=1000, name="fc8")]
    return layers


def dilated_stack(dilations=(1, 2, 4, 8), channels=None):
    """3x3 convolutions with growing dilation, as in Yu & Koltun 2016 ("Multi-scale
    context aggregation by dilated convolutions", Sec. 2-3): padding = dilation
    keeps the map size, and with dilations 1, 2, 4, ... the field after layer i
    is 2^(i+2) - 1 (3, 7, 15, 31): exponential growth for linear parameters.
    """
    return [conv(3, padding=d, dilation=d, in_channels=channels, out_channels=channels, name=f"conv{i + 1}")
            for i, d in enumerate(dilations)]


# 3. Receptive fields ----------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """A map along one axis: its size, field size r, jump j, effective padding p."""
    size: int
    r: int = 1
    j: int = 1
    p: int = 0

    def after(self, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
        """The map after a sliding window (convolution or pooling): Distill's recurrences."""
        span = dilation * (kernel - 1) + 1
        return Field(size=output_size(self.size, kernel, stride, padding, dilation, ceil_mode),
                     r=self.r + (span - 1) * self.j,
                     j=self.j * stride,
                     p=self.p + padding * self.j)

    def box(self, i):
        """First and last input pixel (inclusive) seen by unit i; may fall outside the image."""
        start = -self.p + i * self.j
        return start, start + self.r - 1

    def centre2(self):
        """Twice the centre of unit 0's field (twice, to stay an integer)."""
        return 2 * -self.p + self.r - 1


def _union(fields):
    """One field covering the fields of all inputs to an add or cat (unit 0)."""
    start = min(-f.p for f in fields)
    end = max(-f.p + f.r - 1 for f in fields)
    return Field(size=fields[0].size, r=end - start + 1, j=max(f.j for f in fields), p=-start)


def _sees_whole_map(before, after):
    """True when a layer's single output unit sees every unit of a map larger than 1x1."""
    if all(f.size == 1 for f in before) or any(f.size != 1 for f in after):
        return False
    return all(-a.p <= -b.p and a.r - a.p >= b.r - b.p + (b.size - 1) * b.j for b, a in zip(before, after))


def _pair(v):
    if isinstance(v, (tuple, list, torch.Size)):
        return (v[0], v[0]) if len(v) == 1 else tuple(v[-2:])
    return (v, v)


def _square(values):
    """One number when height and width agree, else the (height, width) pair."""
    values = tuple(values)
    return values[0] if all(v == values[0] for v in values) else values


@dataclass
class Row:
    """One layer of a receptive-field table: the layer, then its map (height and width Fields)."""
    name: str
    kind: str
    fields: tuple
    kernel: object = None
    stride: object = None
    padding: object = None
    dilation: object = None
    channels: Optional[int] = None
    params: Optional[int] = None
    macs: Optional[int] = None
    is_global: bool = False
    parents: tuple = field(default=(), repr=False)  # indices of the rows it reads from

    output_size = property(lambda self: _square(f.size for f in self.fields))
    r = property(lambda self: _square(f.r for f in self.fields))
    j = property(lambda self: _square(f.j for f in self.fields))
    p = property(lambda self: _square(f.p for f in self.fields))


class _Recorder:
    """Collects the rows of a table, the global layers and the misaligned merges."""

    def __init__(self, input_size, channels=None):
        self.rows = [Row("input", "input", tuple(Field(n) for n in input_size), channels=channels)]
        self.misaligned, self.notes = [], []

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    def add(self, name, kind, before, after, **layer):
        self.rows.append(Row(name, kind, after, is_global=_sees_whole_map(before, after), **layer))
        return after

    def window(self, name, kind, before, kernel, stride, padding, dilation=1, ceil_mode=False, **cost):
        kernel, stride, padding, dilation = map(_pair, (kernel, stride, padding, dilation))
        after = tuple(f.after(*a, ceil_mode) for f, *a in zip(before, kernel, stride, padding, dilation))
        return self.add(name, kind, before, after, kernel=_square(kernel), stride=_square(stride),
                        padding=_square(padding), dilation=_square(dilation), **cost)

    def merge(self, name, kind, inputs, out_sizes):
        """Inputs meeting in an add or cat: the union of their fields; flag misaligned centres."""
        kept = [fs for fs in inputs if tuple(f.size for f in fs) == out_sizes] or inputs
        if len(kept) < len(inputs):
            self.note(f"{name}: a smaller map is broadcast onto the {out_sizes} map; its field is left out")
        for axis, fs in zip(("height", "width"), zip(*kept)):
            if any(f.j != fs[0].j or f.centre2() != fs[0].centre2() for f in fs):
                paths = "; ".join(f"stride {f.j}, centre {f.centre2() / 2:g}" for f in dict.fromkeys(fs))
                self.misaligned.append(f"{name}: inputs not aligned along the {axis} ({paths})")
        after = tuple(_union(fs) for fs in zip(*kept))
        if len(inputs) > 1:
            self.rows.append(Row(name, kind, after))
        return after


class ReceptiveField:
    """Receptive-field table of a network: .rows (one per layer that moves the field),
    then .size (r), .stride (j), .padding (p) and .output_size at .layer, the last
    map before any layer that sees its whole map (then .global_pooling is True,
    .global_layer names it). .misaligned lists merges whose inputs' centres differ;
    .notes says what else to know.
    """

    def __init__(self, recorder, input_size, output_row=None):
        # keep the rows the output depends on: a branch whose result is unused does not count
        keep, todo = set(), [len(recorder.rows) - 1 if output_row is None else output_row]
        while todo:
            i = todo.pop()
            if i not in keep:
                keep.add(i)
                todo.extend(recorder.rows[i].parents)
        self.rows = [row for i, row in enumerate(recorder.rows) if i in keep]
        self.input_size, self.misaligned, self.notes = input_size, recorder.misaligned, list(recorder.notes)
        first_global = next((row for row in self.rows if row.is_global), None)
        self.global_pooling = first_global is not None
        self.global_layer = first_global.name if self.global_pooling else None
        final = recorder.rows[first_global.parents[0]] if self.global_pooling else self.rows[-1]
        self._final = self.rows.index(final)
        self.layer, self.size, self.stride, self.padding = final.name, final.r, final.j, final.p
        self.output_size = final.output_size
        if self.global_pooling:
            size = "x".join(str(f.size) for f in final.fields)
            self.notes.insert(0, f"{self.global_layer} sees its whole {size} map: from there on every output "
                                 f"depends on the whole input; the field above is that of {self.layer}")

    def _row(self, layer):
        if layer is None:
            return self.rows[self._final]
        if isinstance(layer, int):
            return self.rows[layer]
        matches = [row for row in self.rows if row.name == layer]
        if not matches:
            raise KeyError(f"no layer named {layer!r}")
        return matches[-1]

    def box(self, i, j=None, layer=None, clip=False):
        """Input pixels (first, last; inclusive) seen by output row i, and by column j when given.

        Returns (first, last) for i alone, else ((top, bottom), (left, right)).
        layer picks another row (index or name); clip=True clips to the image.
        """
        boxes = []
        for index, f, n in zip((i, j), self._row(layer).fields, self.input_size):
            if index is None:
                continue
            if not 0 <= index < f.size:
                raise IndexError(f"position {index} is outside the {f.size}-unit map")
            start, end = f.box(index)
            boxes.append((max(start, 0), min(end, n - 1)) if clip else (start, end))
        return boxes[0] if j is None else tuple(boxes)

    @property
    def total_params(self):
        """Sum of the rows' parameters; None when some layer's channels are unknown."""
        return _total(row.params for row in self.rows if row.kind != "input")

    @property
    def total_macs(self):
        return _total(row.macs for row in self.rows if row.kind != "input")

    def summary(self):
        out = "x".join(map(str, _pair(self.output_size)))
        lines = [f"receptive field {self.size} px, effective stride {self.stride}, effective padding "
                 f"{self.padding}, at {self.layer} ({out} map)"]
        return "\n".join(lines + self.notes + [f"misaligned: {m}" for m in self.misaligned])

    def table(self):
        header = ["layer", "kind", "k", "s", "pad", "d", "output", "r", "j", "p", "params", "mult-adds"]
        body = [[row.name, row.kind, row.kernel, row.stride, row.padding, row.dilation,
                 "x".join(str(f.size) for f in row.fields), row.r, row.j, row.p, row.params, row.macs]
                for row in self.rows]
        return _text_table(header, body)

    def __str__(self):
        return self.table() + "\n" + self.summary()

    def __repr__(self):
        return (f"ReceptiveField(size={self.size}, stride={self.stride}, padding={self.padding}, "
                f"layer={self.layer!r}, global_pooling={self.global_pooling})")


def receptive_field(layers, input_size=224, in_channels=None):
    """Receptive field of every layer of a network at input_size (int or (height, width)).

    layers is a list of specs (conv, pool, fc) or any nn.Module; a module is
    traced (see _Tracer). Where paths meet (add, cat) the field is the union of
    the paths' fields: the largest one when their centres align, as in Distill.
    """
    input_size = _pair(input_size)  # (C, H, W) works too: the last two numbers count
    if isinstance(layers, nn.Module):
        return _Tracer(layers, input_size, in_channels).run()
    layers = list(layers)
    if not all(isinstance(layer, Layer) for layer in layers):
        raise TypeError("receptive_field takes an nn.Module or a list of conv(), pool() and fc() specs")
    return _receptive_field_of_specs(layers, input_size)


def _receptive_field_of_specs(layers, input_size):
    channels = layers[0].in_channels if layers else None  # of the map flowing through, when known
    rec = _Recorder(input_size, channels)
    fields = rec.rows[0].fields
    for index, layer in enumerate(layers, 1):
        name = layer.name or f"{layer.kind}{index}"
        kernel, stride, padding = layer.kernel, layer.stride, layer.padding
        if layer.kind == "fc":  # a window over the whole map
            kernel = stride = tuple(f.size for f in fields)
            padding = 0
        params = 0  # pooling
        if layer.kind in ("conv", "fc"):
            c_in = layer.in_channels if layer.in_channels is not None else channels
            channels = layer.out_channels
            known = c_in is not None and channels is not None
            params = conv_parameters(1 if layer.kind == "fc" else kernel, c_in, channels, layer.groups,
                                     layer.bias) if known else None
        fields = rec.window(name, layer.kind, fields, kernel, stride, padding, layer.dilation, layer.ceil_mode,
                            channels=channels, params=params)
        rec.rows[-1].parents = (len(rec.rows) - 2,)
        if params is not None:  # torchinfo's convention, see section 4
            rec.rows[-1].macs = params * math.prod(f.size for f in fields)
    return ReceptiveField(rec, input_size)


_active_tracer = None  # the _Tracer whose model is running, if any


class _Traced(torch.Tensor):
    """A tensor carrying its map's Fields (rf_fields) through every torch function.

    PyTorch calls __torch_function__ for each function that receives such a
    tensor (F.conv2d, torch.cat, x[::2], x + y, ...); we let the function run,
    then hand it to the active tracer, which works out the output's Fields.
    """

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = super().__torch_function__(func, types, args, kwargs)
        tracer = _active_tracer
        if tracer is not None and not tracer.busy:
            tracer.busy = True  # the tracer's own tensor reads must not be traced
            try:
                tracer.record(func, args, kwargs, out)
            finally:
                tracer.busy = False
        return out


def _arg(args, kwargs, index, name, default=None):
    """Argument `name` of a torch function call, given by position or by keyword."""
    return args[index] if len(args) > index else kwargs.get(name, default)


class _Tracer:
    """Runs a module once on a _Traced input and records a row for each operation
    that moves the field: convolutions, poolings, padding, strided slicing, and
    add/cat where paths meet. Operations that keep the map size (ReLU, batch norm,
    dropout) pass the field on; one that loses the spatial axes (flatten, mean)
    sees the whole map. The model runs on the meta device, with shapes only and
    no arithmetic, when it can; otherwise on its own device.
    """

    def __init__(self, model, input_size, in_channels=None):
        self.model, self.input_size, self.busy = model, input_size, False
        first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        self.channels = in_channels or (first_conv.in_channels if first_conv else 3)
        self.modules = dict(model.named_modules())
        self.handlers = {"conv2d": self.conv, "max_pool2d": self.max_pool, "max_pool2d_with_indices": self.max_pool,
                         "avg_pool2d": self.avg_pool, "adaptive_avg_pool2d": self.adaptive_pool,
                         "adaptive_max_pool2d": self.adaptive_pool, "pad": self.pad, "__getitem__": self.slice,
                         "cat": self.cat, "concat": self.cat, "concatenate": self.cat}

    def run(self):
        global _active_tracer
        for device in ("meta", _device_of(self.model)):
            self.scope, self.rec = [], _Recorder(self.input_size, self.channels)
            x = torch.zeros(1, self.channels, *self.input_size, device=device, dtype=_dtype_of(self.model))
            x = x.as_subclass(_Traced)
            x.rf_fields, x.rf_row = self.rec.rows[0].fields, 0
            hooks = [h for name, m in self.modules.items() for h in (
                m.register_forward_pre_hook(lambda m, a, name=name: self.enter(name)),
                m.register_forward_hook(lambda m, a, o: self.leave(), always_call=True))]
            _active_tracer = self
            try:
                with _eval_mode(self.model), torch.no_grad():
                    out = _forward(self.model, x)
                if isinstance(out, dict):
                    out = list(out.values())
                if isinstance(out, (tuple, list)):  # several outputs: the first one
                    out = next((t for t in out if hasattr(t, "rf_row")), None)
                return ReceptiveField(self.rec, self.input_size, getattr(out, "rf_row", None))
            except (NotImplementedError, RuntimeError):
                if device != "meta":
                    raise
            finally:
                _active_tracer = None
                for h in hooks:
                    h.remove()

    def enter(self, name):  # hooks: a module's forward begins / ends (return None: keep its output)
        self.scope.append(name)

    def leave(self):
        self.scope.pop()

    def where(self, op):
        """Row name: the leaf module running, else 'module:op'."""
        module = self.scope[-1] if self.scope else ""
        if module and not any(True for _ in self.modules[module].children()):
            return module
        kind = {"__iadd__": "add", "__add__": "add", "__radd__": "add"}.get(op, op.strip("_"))
        return f"{module}:{kind}" if module else kind

    def record(self, func, args, kwargs, out):
        outputs = [out] if isinstance(out, torch.Tensor) else [
            t for t in out if isinstance(t, torch.Tensor)] if isinstance(out, (tuple, list)) else []
        flat = [a for v in (*args, *kwargs.values()) for a in (v if isinstance(v, (list, tuple)) else [v])]
        inputs = [t for t in flat if getattr(t, "rf_fields", None) is not None]
        if not outputs or not inputs:
            return
        op = getattr(func, "__name__", str(func))
        rows = len(self.rec.rows)
        fields = self.handlers.get(op, self.other)(op, args, kwargs, inputs, outputs[0])
        if len(self.rec.rows) > rows:  # a new row, read from the rows that made the inputs
            self.rec.rows[-1].parents = tuple(dict.fromkeys(t.rf_row for t in inputs))
        row = len(self.rec.rows) - 1 if len(self.rec.rows) > rows else max(t.rf_row for t in inputs)
        for t in outputs:
            t.rf_fields, t.rf_row = fields, row

    def conv(self, op, args, kwargs, inputs, out):
        x, weight, bias = args[0], _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
        stride, padding = _arg(args, kwargs, 3, "stride", 1), _arg(args, kwargs, 4, "padding", 0)
        dilation, groups = _arg(args, kwargs, 5, "dilation", 1), _arg(args, kwargs, 6, "groups", 1)
        kernel = tuple(weight.shape[-2:])
        params = conv_parameters(kernel, x.shape[-3], weight.shape[0], groups, bias is not None)
        cost = dict(channels=weight.shape[0], params=params, macs=params * out.shape[-2] * out.shape[-1])
        if padding == "same":  # stride 1; an even total padding puts the extra pixel on the right
            left = tuple(d * (k - 1) // 2 for k, d in zip(kernel, _pair(dilation)))
            fields = tuple(replace(f.after(k, 1, p, d), size=f.size)
                           for f, k, p, d in zip(x.rf_fields, kernel, left, _pair(dilation)))
            return self.rec.add(self.where(op), "conv", x.rf_fields, fields, kernel=_square(kernel), stride=1,
                                padding=_square(left), dilation=_square(dilation), **cost)
        padding = 0 if padding == "valid" else padding
        return self.rec.window(self.where(op), "conv", x.rf_fields, kernel, stride, padding, dilation, **cost)

    def max_pool(self, op, args, kwargs, inputs, out):
        kernel = _arg(args, kwargs, 1, "kernel_size")
        stride = _arg(args, kwargs, 2, "stride") or kernel
        return self.rec.window(self.where(op), "maxpool", args[0].rf_fields, kernel, stride,
                               _arg(args, kwargs, 3, "padding", 0), _arg(args, kwargs, 4, "dilation", 1),
                               _arg(args, kwargs, 5, "ceil_mode", False), params=0, macs=0)

    def avg_pool(self, op, args, kwargs, inputs, out):
        kernel = _arg(args, kwargs, 1, "kernel_size")
        stride = _arg(args, kwargs, 2, "stride") or kernel
        return self.rec.window(self.where(op), "avgpool", args[0].rf_fields, kernel, stride,
                               _arg(args, kwargs, 3, "padding", 0), 1,
                               _arg(args, kwargs, 4, "ceil_mode", False), params=0, macs=0)

    def adaptive_pool(self, op, args, kwargs, inputs, out):
        """Windows of n/o units when o divides n (o = 1: global pooling); else approximated."""
        before = args[0].rf_fields
        after, kernels, strides = [], [], []
        for f, o in zip(before, out.shape[-2:]):
            k = max(math.ceil((i + 1) * f.size / o) - (i * f.size) // o for i in range(o))
            s = max(f.size // o, 1)
            if f.size % o:
                self.rec.note(f"{self.where(op)}: uneven adaptive windows ({f.size} -> {o}); field approximated")
            after.append(Field(o, f.r + (k - 1) * f.j, f.j * s, f.p))
            kernels.append(k), strides.append(s)
        kind = "avgpool" if "avg" in op else "maxpool"
        return self.rec.add(self.where(op), kind, before, tuple(after), kernel=_square(kernels),
                            stride=_square(strides), padding=0, dilation=1, params=0, macs=0)

    def pad(self, op, args, kwargs, inputs, out):
        pads = list(_arg(args, kwargs, 1, "pad")) + [0, 0, 0, 0]
        per_axis = ((pads[2], pads[3]), (pads[0], pads[1]))  # F.pad lists the last axis (width) first
        if not any(pads[:4]):
            return args[0].rf_fields
        after = tuple(Field(f.size + a + b, f.r, f.j, f.p + a * f.j) for f, (a, b) in zip(args[0].rf_fields, per_axis))
        return self.rec.add(self.where(op), "pad", args[0].rf_fields, after, padding=_square(a for a, _ in per_axis))

    def slice(self, op, args, kwargs, inputs, out):
        """x[..., a::s, a::s]: unit i is input unit a + i*s (a 1x1 window of stride s, shifted by a)."""
        x, index = args[0], args[1] if isinstance(args[1], tuple) else (args[1],)
        if any(i is Ellipsis for i in index):
            at = next(n for n, i in enumerate(index) if i is Ellipsis)
            index = index[:at] + (slice(None),) * (x.dim() - len(index) + 1) + index[at + 1:]
        index = index + (slice(None),) * (x.dim() - len(index))
        if len(index) != x.dim() or not all(isinstance(i, slice) for i in index[-2:]) or x.dim() < 3:
            return self.other(op, args, kwargs, inputs, out)
        spans = [sl.indices(f.size) for sl, f in zip(index[-2:], x.rf_fields)]
        if all(span == (0, f.size, 1) for span, f in zip(spans, x.rf_fields)):
            return x.rf_fields  # a channel or batch slice
        after = tuple(Field(len(range(*span)), f.r, f.j * span[2], f.p - span[0] * f.j)
                      for span, f in zip(spans, x.rf_fields))
        return self.rec.add(self.where(op), "slice", x.rf_fields, after, kernel=1,
                            stride=_square(s[2] for s in spans), padding=_square(-s[0] for s in spans))

    def cat(self, op, args, kwargs, inputs, out):
        dim = _arg(args, kwargs, 1, "dim", 0) % out.dim()
        if dim >= out.dim() - 2:  # joined along a spatial axis: not a merge of paths
            return self.other(op, args, kwargs, inputs, out)
        return self.rec.merge(self.where(op), "cat", [t.rf_fields for t in inputs], tuple(out.shape[-2:]))

    def other(self, op, args, kwargs, inputs, out):
        """Anything else: pass the field on if the map size stays, else assume it mixes all positions."""
        sizes = tuple(out.shape[-2:]) if out.dim() >= 3 else None
        same = [t.rf_fields for t in inputs if tuple(f.size for f in t.rf_fields) == sizes]
        if same:
            return self.rec.merge(self.where(op), op.strip("_"), [t.rf_fields for t in inputs], sizes)
        before = inputs[0].rf_fields
        if all(f.size == 1 for f in before):
            return before
        if sizes not in (None, (1, 1)):
            self.rec.note(f"{self.where(op)}: {op} changes the map size and is not known to "
                                  "this tracer; it is treated as mixing all positions")
        whole = tuple(f.size for f in before)
        after = self.rec.window(self.where(op), op.strip("_"), before, whole, whole, 0)
        return after if sizes in (None, (1, 1)) else tuple(replace(f, size=n) for f, n in zip(after, sizes))


def _forward(model, x):
    """model(x); on the meta device the weights are swapped for meta tensors of the same shapes."""
    if x.device.type != "meta":
        return model(x)
    state = {name: torch.empty_like(t, device="meta")
             for name, t in [*model.named_parameters(), *model.named_buffers()]}
    return torch.func.functional_call(model, state, (x,))


@contextlib.contextmanager
def _eval_mode(model):
    """Eval mode for the duration, then every submodule's own mode back."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.training = training


def _device_of(model):
    return next((t.device for t in [*model.parameters(), *model.buffers()]), torch.device("cpu"))


def _dtype_of(model):
    return next((t.dtype for t in model.parameters() if t.is_floating_point()), torch.get_default_dtype())


# 4. Parameters and multiply-adds ---------------------------------------------
#
# One multiply-add (MAC) is one unit here, not two FLOPs. As in torchinfo, a
# convolution costs one multiply-add per weight per output position, plus one
# add per output element for its bias; a linear layer in*out + out per output
# row. conv_multiply_adds leaves the bias out by default: the textbook
# k*k*C_in*C_out*H*W. Batch norm: one multiply-add per element
# (y = a*x + b once the statistics are folded in), where torchinfo counts 2*C;
# layers without parameters (ReLU, pooling): 0, as in torchinfo.

def conv_parameters(kernel, c_in, c_out, groups=1, bias=True):
    """k_h*k_w*C_in*C_out/groups weights, plus C_out biases."""
    window = math.prod(kernel) if isinstance(kernel, (tuple, list)) else kernel * kernel
    return window * (c_in // groups) * c_out + (c_out if bias else 0)


def conv_multiply_adds(kernel, c_in, c_out, h_out, w_out, groups=1, bias=False):
    """k_h*k_w*C_in/groups multiply-adds for each of the C_out*H_out*W_out outputs (+1 each for a bias)."""
    return conv_parameters(kernel, c_in, c_out, groups, bias) * h_out * w_out


def _layer_cost(module, output):
    """(parameters, multiply-adds) of one leaf module, from its output (batch 1)."""
    if isinstance(module, nn.modules.conv._ConvNd):
        params = conv_parameters(module.kernel_size, module.in_channels, module.out_channels, module.groups,
                                 module.bias is not None)
        return params, params * math.prod(output.shape[2:])
    if isinstance(module, nn.Linear):
        params = module.in_features * module.out_features + (module.out_features if module.bias is not None else 0)
        return params, params * (output.numel() // module.out_features)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return (2 * module.num_features if module.affine else 0), output.numel()
    return sum(p.numel() for p in module.parameters(recurse=False)), 0


@dataclass
class ParameterRow:
    name: str
    type: str
    output_shape: Optional[tuple]
    params: int
    macs: int


@dataclass
class ParameterTable:
    """Per leaf layer: name, type, output shape (no batch), parameters, multiply-adds."""
    rows: list

    total_params = property(lambda self: sum(row.params for row in self.rows))
    total_macs = property(lambda self: sum(row.macs for row in self.rows))

    def __str__(self):
        body = [[r.name, r.type, "x".join(map(str, r.output_shape)) if r.output_shape else "-", r.params, r.macs]
                for r in self.rows]
        body.append(["total", "", "", self.total_params, self.total_macs])
        return _text_table(["layer", "type", "output", "params", "mult-adds"], body)


def parameter_table(model, input_size=(3, 224, 224)):
    """Parameters and multiply-adds of every leaf layer of model for one input of input_size.

    A module called twice counts its parameters once and its multiply-adds twice;
    layers never called and parameters held by containers get rows of their own,
    so total_params equals sum(p.numel() for p in model.parameters()).
    """
    rows, counted = [], set()

    def record(module, inputs, output, name):
        output = output[0] if isinstance(output, (tuple, list)) else output
        params, macs = _layer_cost(module, output)
        rows.append(ParameterRow(name, type(module).__name__, tuple(output.shape[1:]),
                                 0 if module in counted else params, macs))
        counted.add(module)

    modules = dict(model.named_modules())
    leaves = {name: m for name, m in modules.items() if not any(True for _ in m.children())}
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: record(m, i, o, name)) for name, m in leaves.items()]
    try:
        with _eval_mode(model), torch.no_grad():
            try:
                _forward(model, torch.zeros(1, *input_size, device="meta", dtype=_dtype_of(model)))
            except (NotImplementedError, RuntimeError):
                rows.clear(), counted.clear()
                model(torch.zeros(1, *input_size, device=_device_of(model), dtype=_dtype_of(model)))
    finally:
        for h in hooks:
            h.remove()
    for name, m in modules.items():
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if own and m not in counted:
            rows.append(ParameterRow(name + (" (not called)" if name in leaves else " (own)"),
                                     type(m).__name__, None, own, 0))
    return ParameterTable(rows)


# 5. Effective receptive field ------------------------------------------------

def effective_receptive_field(model, input_size=(3, 32, 32), position=None, inputs=None, reduce="abs",
                              batch_size=16):
    """|d out[centre] / d input| averaged over a batch, as a (H, W) map with maximum 1 (Luo et al. 2016).

    model maps (B, C, H, W) images to (B, C', h, w) maps and runs in eval mode.
    The output unit is position (row, column) of the map, its centre by
    default, summed over channels. inputs defaults to batch_size images of
    standard normal noise. reduce: "abs" sums |gradient| over input channels,
    "square" sums the squared gradient.
    """
    if reduce not in ("abs", "square"):
        raise ValueError(f"reduce must be 'abs' or 'square', got {reduce!r}")
    device = _device_of(model)
    x = inputs if inputs is not None else torch.randn(batch_size, *input_size)
    x = x.detach().to(device).clone().requires_grad_(True)
    with _eval_mode(model), torch.enable_grad():
        out = model(x)
        if out.dim() != 4:
            raise ValueError(f"the model must return a (B, C, h, w) feature map, got shape {tuple(out.shape)}; "
                             "pass its convolutional part (e.g. model.features)")
        row, col = position if position is not None else (out.shape[-2] // 2, out.shape[-1] // 2)
        (grad,) = torch.autograd.grad(out[:, :, row, col].sum(), x)
    grad = grad.abs() if reduce == "abs" else grad.square()
    erf = grad.sum(1).mean(0).detach().cpu()
    return erf / erf.max() if erf.max() > 0 else erf


# Text tables ------------------------------------------------------------------

def _total(values):
    values = list(values)
    return None if any(v is None for v in values) else sum(values)


def _cell(v):
    if v is None:
        return "-"
    if isinstance(v, tuple):
        return "x".join(map(str, v))
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _text_table(header, body):
    cells = [header] + [[_cell(v) for v in row] for row in body]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    return "\n".join([lines[0], "-" * len(lines[0])] + lines[1:])
