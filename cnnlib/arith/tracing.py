"""Receptive fields of any nn.Module, by tracing one forward pass.

The module runs on a _Traced input: a Tensor subclass whose __torch_function__
hands every torch function it meets (F.conv2d, torch.cat, x[::2], x + y, ...)
to the active Tracer, which records a Row for each operation that moves the
field (fields.Recorder) and attaches the output's Fields to the result. The
model runs on the meta device, with shapes only and no arithmetic, when it can;
otherwise on its own device, twice (see below).

Supported: convolutions (stride, padding including "same" and "valid",
dilation, groups); max and average pooling (padding, dilation, ceil_mode);
adaptive pooling (exact when the output size divides the input size); F.pad
with zeros, reflection or replication (the padded pixels count as outside the
image); strided slicing x[..., a::s, b::t]; add and cat where paths meet (the
union of their fields); operations that act on each position alone
(activations, batch norm, dropout, channel shuffles); and operations that lose
the spatial axes (flatten, mean, a linear layer after them), which see the
whole map.

Refused with a TracingError naming the operation and the module: upsampling
(nn.Upsample, F.interpolate), transposed convolutions, pixel (un)shuffle,
grid_sample, fold/unfold, torch.roll, rot90, circular padding; anything that
reorders or mixes positions along a spatial axis (a permute or transpose that
moves H or W, flip, sort, cumsum or softmax along them); anything else that
changes a map's size; and a module whose path depends on the input's values:
when the meta run fails (Python read a tensor's value), the module is traced on
a random input and on its negative, and the two recorded layer sequences must
agree. That check can miss a branch both inputs take the same way.
"""
import math
from dataclasses import replace

import torch
import torch.nn as nn

from .cost import conv_parameters
from .fields import Field, ReceptiveField, Recorder, pair, square
from ..modules import device_of, dtype_of, in_mode, forward

SUPPORTED = ("receptive_field follows convolutions, poolings, padding, strided slicing, add and cat, and "
             "operations that keep each position apart; trace the part of the network before this "
             "operation, or write the layers as a list of arith.conv() and arith.pool() specs")

# Operations whose output units are not windows of one size and one jump over the input.
REFUSED = {
    "conv_transpose1d": "a transposed convolution spreads each input unit over several output units",
    "conv_transpose2d": "a transposed convolution spreads each input unit over several output units",
    "conv_transpose3d": "a transposed convolution spreads each input unit over several output units",
    "interpolate": "upsampling makes several output units from each input unit (a jump below 1 pixel)",
    "upsample": "upsampling makes several output units from each input unit (a jump below 1 pixel)",
    "upsample_nearest": "upsampling makes several output units from each input unit (a jump below 1 pixel)",
    "upsample_bilinear": "upsampling makes several output units from each input unit (a jump below 1 pixel)",
    "pixel_shuffle": "it moves channels into positions",
    "pixel_unshuffle": "it moves positions into channels",
    "grid_sample": "it reads the positions a grid of numbers points to",
    "fold": "it adds sliding blocks back into a map",
    "unfold": "it cuts a map into sliding blocks",
    "roll": "it shifts positions and wraps them around the edges",
    "rot90": "it rotates the map",
}
# Operations along a dimension: (position of the argument, its keyword, its default).
ALONG_DIM = {"flip": (1, "dims", None), "cumsum": (1, "dim", None), "cumprod": (1, "dim", None),
             "cummax": (1, "dim", None), "cummin": (1, "dim", None), "logcumsumexp": (1, "dim", None),
             "sort": (1, "dim", -1), "argsort": (1, "dim", -1), "softmax": (1, "dim", None),
             "log_softmax": (1, "dim", None), "gather": (1, "dim", None), "index_select": (1, "dim", None)}
PERMUTATIONS = {"permute", "transpose", "swapaxes", "swapdims", "movedim", "moveaxis"}


class TracingError(ValueError):
    """receptive_field cannot follow the positions of a map through this module."""


_active_tracer = None  # the Tracer whose model is running, if any


class _Traced(torch.Tensor):
    """A tensor carrying its map's Fields (rf_fields) and its table row (rf_row) through every torch function.

    PyTorch calls __torch_function__ for each function that receives such a
    tensor; we let the function run, then hand it to the active tracer.
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


def _ints(value):
    return [value] if isinstance(value, int) else [v for v in value if isinstance(v, int)]


def trace(model, input_size, in_channels=None):
    """The ReceptiveField of an nn.Module at input_size (height, width); see the module docstring."""
    return Tracer(model, input_size, in_channels).run()


class Tracer:
    """Runs a module on a _Traced input and records a row for each operation that moves the field."""

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
        shape = (1, self.channels, *self.input_size)
        try:
            rec, output_row = self.trace_once(torch.zeros(shape, device="meta", dtype=dtype_of(self.model)))
        except (NotImplementedError, RuntimeError):  # Python read a value, or an operation has no meta kernel
            x = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=dtype_of(self.model))
            x = x.to(device_of(self.model))
            (rec, output_row), second = self.trace_once(x), self.trace_once(-x)
            self.check_same_path((rec, output_row), second)
        return ReceptiveField(rec, self.input_size, output_row)

    def trace_once(self, x):
        """(the Recorder, the row of the output) of one forward pass on x."""
        global _active_tracer
        self.scope, self.rec = [], Recorder(self.input_size, self.channels)
        x = x.as_subclass(_Traced)
        x.rf_fields, x.rf_row = self.rec.rows[0].axes, 0
        hooks = [h for name, m in self.modules.items() for h in (
            m.register_forward_pre_hook(lambda m, a, name=name: self.enter(name)),
            m.register_forward_hook(lambda m, a, o: self.leave(), always_call=True))]
        _active_tracer = self
        try:
            with in_mode(self.model), torch.no_grad():
                out = forward(self.model, x)
        finally:
            _active_tracer = None
            for h in hooks:
                h.remove()
        if isinstance(out, dict):
            out = list(out.values())
        if isinstance(out, (tuple, list)):  # several outputs: the first one
            out = next((t for t in out if hasattr(t, "rf_row")), None)
        return self.rec, getattr(out, "rf_row", None)

    def check_same_path(self, first, second):
        """Refuse when two runs (trace_once's results) recorded different layers: the path depends on the data."""
        (rec, output_row), (other, other_output) = first, second
        layers = [(row.name, row.kind, row.axes) for row in rec.rows]
        others = [(row.name, row.kind, row.axes) for row in other.rows]
        if layers == others and output_row == other_output:
            return
        at = next((i for i, (a, b) in enumerate(zip(layers, others)) if a != b), min(len(layers), len(others)))
        seen = [f"layer {at} is {rows[at][0]!r}" if at < len(rows) else f"there is no layer {at}"
                for rows in (layers, others)]
        raise TracingError(
            f"receptive_field cannot trace {type(self.model).__name__}: it takes different paths for different "
            f"inputs (data-dependent control flow): on a random input {seen[0]}, on its negative {seen[1]}. "
            "Trace a part whose layers do not depend on the input's values, or write the path as a list of "
            "arith.conv() and arith.pool() specs")

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

    def refuse(self, op, reason):
        module = self.scope[-1] if self.scope else ""
        owner = f"{module!r} ({type(self.modules[module]).__name__})" if module else \
            f"the model ({type(self.model).__name__})"
        raise TracingError(f"receptive_field cannot trace {op} in {owner}: {reason}. {SUPPORTED}")

    def record(self, func, args, kwargs, out):
        outputs = [out] if isinstance(out, torch.Tensor) else [
            t for t in out if isinstance(t, torch.Tensor)] if isinstance(out, (tuple, list)) else []
        flat = [a for v in (*args, *kwargs.values()) for a in (v if isinstance(v, (list, tuple)) else [v])]
        inputs = [t for t in flat if getattr(t, "rf_fields", None) is not None]
        if not outputs or not inputs:
            return
        op = getattr(func, "__name__", str(func))
        self.check_positions_kept(op, func, args, kwargs, inputs[0])
        rows = len(self.rec.rows)
        fields = self.handlers.get(op, self.other)(op, args, kwargs, inputs, outputs[0])
        if len(self.rec.rows) > rows:  # a new row, read from the rows that made the inputs
            self.rec.rows[-1].parents = tuple(dict.fromkeys(t.rf_row for t in inputs))
        row = len(self.rec.rows) - 1 if len(self.rec.rows) > rows else max(t.rf_row for t in inputs)
        for t in outputs:
            if t.dim() >= 4 and tuple(t.shape[-2:]) != tuple(f.map_size for f in fields):
                self.refuse(op, f"it makes a {t.shape[-2]}x{t.shape[-1]} map where the tracer expected "
                                f"{'x'.join(str(f.map_size) for f in fields)}")
            t.rf_fields, t.rf_row = fields, row

    def check_positions_kept(self, op, func, args, kwargs, x):
        """Refuse an operation that reorders or mixes the positions of x's map (x is (N, C, ..., H, W))."""
        if x.dim() < 4:
            return  # the spatial axes are gone already
        if op in REFUSED:
            self.refuse(op, REFUSED[op])
        spatial = {x.dim() - 2, x.dim() - 1}
        if op in ALONG_DIM:
            dims = _arg(args, kwargs, *ALONG_DIM[op])
            if dims is not None and spatial & {d % x.dim() for d in _ints(dims)}:
                self.refuse(op, "it mixes or reorders the positions along a spatial axis")
        elif op in PERMUTATIONS:
            # the same operation on a meta tensor whose sizes name its dimensions shows where each one goes
            probe = torch.empty(tuple(range(2, x.dim() + 2)), device="meta")
            moved = func(probe, *args[1:], **kwargs)
            if [s - 2 for s in moved.shape[-2:]] != sorted(spatial):
                self.refuse(op, "it moves the spatial axes; the tracer follows maps laid out as (N, C, H, W)")

    def conv(self, op, args, kwargs, inputs, out):
        x, weight, bias = args[0], _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
        stride, padding = _arg(args, kwargs, 3, "stride", 1), _arg(args, kwargs, 4, "padding", 0)
        dilation, groups = _arg(args, kwargs, 5, "dilation", 1), _arg(args, kwargs, 6, "groups", 1)
        kernel = tuple(weight.shape[-2:])
        parameters = conv_parameters(kernel, x.shape[-3], weight.shape[0], groups, bias is not None)
        cost = dict(channels=weight.shape[0], parameters=parameters, multiply_adds=parameters * out.shape[-2] * out.shape[-1])
        if padding == "same":  # stride 1; an even total padding puts the extra pixel on the right
            left = tuple(d * (k - 1) // 2 for k, d in zip(kernel, pair(dilation)))
            fields = tuple(replace(f.after(k, 1, p, d), map_size=f.map_size)
                           for f, k, p, d in zip(x.rf_fields, kernel, left, pair(dilation)))
            return self.rec.add(self.where(op), "conv", x.rf_fields, fields, kernel=square(kernel), stride=1,
                                padding=square(left), dilation=square(dilation), **cost)
        padding = 0 if padding == "valid" else padding
        return self.rec.window(self.where(op), "conv", x.rf_fields, kernel, stride, padding, dilation, **cost)

    def max_pool(self, op, args, kwargs, inputs, out):
        kernel = _arg(args, kwargs, 1, "kernel_size")
        stride = _arg(args, kwargs, 2, "stride") or kernel
        return self.rec.window(self.where(op), "maxpool", args[0].rf_fields, kernel, stride,
                               _arg(args, kwargs, 3, "padding", 0), _arg(args, kwargs, 4, "dilation", 1),
                               _arg(args, kwargs, 5, "ceil_mode", False), parameters=0, multiply_adds=0)

    def avg_pool(self, op, args, kwargs, inputs, out):
        kernel = _arg(args, kwargs, 1, "kernel_size")
        stride = _arg(args, kwargs, 2, "stride") or kernel
        return self.rec.window(self.where(op), "avgpool", args[0].rf_fields, kernel, stride,
                               _arg(args, kwargs, 3, "padding", 0), 1,
                               _arg(args, kwargs, 4, "ceil_mode", False), parameters=0, multiply_adds=0)

    def adaptive_pool(self, op, args, kwargs, inputs, out):
        """Windows of n/o units when o divides n (o = 1: global pooling); else approximated."""
        before = args[0].rf_fields
        after, kernels, strides = [], [], []
        for f, o in zip(before, out.shape[-2:]):
            k = max(math.ceil((i + 1) * f.map_size / o) - (i * f.map_size) // o for i in range(o))
            s = max(f.map_size // o, 1)
            if f.map_size % o:
                self.rec.note(f"{self.where(op)}: uneven adaptive windows ({f.map_size} -> {o}); field approximated")
            after.append(Field(o, f.field_size + (k - 1) * f.jump, f.jump * s, f.effective_padding))
            kernels.append(k), strides.append(s)
        kind = "avgpool" if "avg" in op else "maxpool"
        return self.rec.add(self.where(op), kind, before, tuple(after), kernel=square(kernels),
                            stride=square(strides), padding=0, dilation=1, parameters=0, multiply_adds=0)

    def pad(self, op, args, kwargs, inputs, out):
        if _arg(args, kwargs, 2, "mode", "constant") == "circular":
            self.refuse(op, "circular padding wraps positions around the edges")
        pads = list(_arg(args, kwargs, 1, "pad")) + [0, 0, 0, 0]
        per_axis = ((pads[2], pads[3]), (pads[0], pads[1]))  # F.pad lists the last axis (width) first
        if not any(pads[:4]):
            return args[0].rf_fields
        after = tuple(Field(f.map_size + a + b, f.field_size, f.jump, f.effective_padding + a * f.jump)
                      for f, (a, b) in zip(args[0].rf_fields, per_axis))
        return self.rec.add(self.where(op), "pad", args[0].rf_fields, after, padding=square(a for a, _ in per_axis))

    def slice(self, op, args, kwargs, inputs, out):
        """x[..., a::s, a::s]: unit i is input unit a + i*s (a 1x1 window of stride s, shifted by a)."""
        x, index = args[0], args[1] if isinstance(args[1], tuple) else (args[1],)
        if any(i is Ellipsis for i in index):
            at = next(n for n, i in enumerate(index) if i is Ellipsis)
            index = index[:at] + (slice(None),) * (x.dim() - len(index) + 1) + index[at + 1:]
        index = index + (slice(None),) * (x.dim() - len(index))
        if len(index) != x.dim() or not all(isinstance(i, slice) for i in index[-2:]) or x.dim() < 3:
            return self.other(op, args, kwargs, inputs, out)
        spans = [sl.indices(f.map_size) for sl, f in zip(index[-2:], x.rf_fields)]
        if all(span == (0, f.map_size, 1) for span, f in zip(spans, x.rf_fields)):
            return x.rf_fields  # a channel or batch slice
        after = tuple(Field(len(range(*span)), f.field_size, f.jump * span[2], f.effective_padding - span[0] * f.jump)
                      for span, f in zip(spans, x.rf_fields))
        return self.rec.add(self.where(op), "slice", x.rf_fields, after, kernel=1,
                            stride=square(s[2] for s in spans), padding=square(-s[0] for s in spans))

    def cat(self, op, args, kwargs, inputs, out):
        dim = _arg(args, kwargs, 1, "dim", 0) % out.dim()
        if dim >= out.dim() - 2:  # joined along a spatial axis: not a merge of paths
            return self.other(op, args, kwargs, inputs, out)
        return self.rec.merge(self.where(op), "cat", [t.rf_fields for t in inputs], tuple(out.shape[-2:]))

    def other(self, op, args, kwargs, inputs, out):
        """Anything else: the field passes on where the map keeps its size; an output without
        spatial axes, or a 1x1 map from a larger one, sees the whole map; other sizes are refused."""
        sizes = tuple(out.shape[-2:]) if out.dim() >= 4 else None
        same = [t.rf_fields for t in inputs if tuple(f.map_size for f in t.rf_fields) == sizes]
        if same:
            return self.rec.merge(self.where(op), op.strip("_"), [t.rf_fields for t in inputs], sizes)
        before = inputs[0].rf_fields
        if all(f.map_size == 1 for f in before):
            return before
        if sizes not in (None, (1, 1)):
            self.refuse(op, f"it turns a {'x'.join(str(f.map_size) for f in before)} map into a "
                            f"{sizes[0]}x{sizes[1]} one, and the tracer does not know which positions it reads")
        whole = tuple(f.map_size for f in before)
        after = self.rec.window(self.where(op), op.strip("_"), before, whole, whole, 0)
        return after if sizes is None else tuple(replace(f, map_size=n) for f, n in zip(after, sizes))
