"""Receptive fields by Distill's recurrences (Araujo, Norris & Sim 2019,
"Computing Receptive Fields of Convolutional Neural Networks").

Along one axis, a feature map is described by four numbers, a Field:

    map_size           units along the axis
    field_size         input pixels one unit sees (Distill's r)
    jump               input pixels between neighbouring units: the effective stride (Distill's S)
    effective_padding  unit 0's field starts at input pixel -effective_padding (Distill's P)

Unit i then sees the input pixels -effective_padding + i*jump up to
-effective_padding + i*jump + field_size - 1, inclusive; a field may reach
outside the image. Field.after applies one layer; Recorder collects the
per-layer Rows of a network; ReceptiveField is the finished table.
"""
from dataclasses import dataclass, field
from typing import Optional

import torch

from ..table import Table
from .sizes import output_size


@dataclass(frozen=True)
class Field:
    """One axis of a feature map and the receptive field of its units."""
    map_size: int
    field_size: int = 1
    jump: int = 1
    effective_padding: int = 0

    def after(self, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
        """This axis after a convolution or pooling window: Distill's recurrences, one layer."""
        span = dilation * (kernel - 1) + 1  # the window's extent in units of this map, holes included
        return Field(
            map_size=output_size(self.map_size, kernel, stride, padding, dilation, ceil_mode),
            field_size=self.field_size + (span - 1) * self.jump,
            jump=self.jump * stride,
            effective_padding=self.effective_padding + padding * self.jump,
        )

    def box(self, unit):
        """First and last input pixel (inclusive) seen by `unit`; may fall outside the image."""
        first = -self.effective_padding + unit * self.jump
        return first, first + self.field_size - 1

    def centre2(self):
        """Twice the centre of unit 0's field (twice, to stay an integer)."""
        return 2 * -self.effective_padding + self.field_size - 1


def union(fields):
    """One Field covering the fields of all inputs to an add or cat (unit 0)."""
    first = min(-f.effective_padding for f in fields)
    last = max(-f.effective_padding + f.field_size - 1 for f in fields)
    return Field(fields[0].map_size, last - first + 1, max(f.jump for f in fields), -first)


def sees_whole_map(before, after):
    """True when a layer's single output unit sees every unit of a map larger than 1x1."""
    if all(f.map_size == 1 for f in before) or any(f.map_size != 1 for f in after):
        return False
    return all(a.effective_padding >= b.effective_padding
               and a.field_size - a.effective_padding >= b.field_size - b.effective_padding + (b.map_size - 1) * b.jump
               for b, a in zip(before, after))


def pair(v):
    """(height, width) from one number or a sequence (its last two entries)."""
    if isinstance(v, (tuple, list, torch.Size)):
        return (v[0], v[0]) if len(v) == 1 else tuple(v[-2:])
    return (v, v)


def square(values):
    """One number when height and width agree, else the (height, width) pair."""
    values = tuple(values)
    return values[0] if all(v == values[0] for v in values) else values


@dataclass
class Row:
    """One layer of a receptive-field table: the layer, then its map along each axis (height, width)."""
    name: str
    kind: str
    axes: tuple  # (height Field, width Field) of the map after the layer
    kernel: object = None
    stride: object = None
    padding: object = None
    dilation: object = None
    channels: Optional[int] = None
    parameters: Optional[int] = None
    multiply_adds: Optional[int] = None
    is_global: bool = False
    parents: tuple = field(default=(), repr=False)  # indices of the rows it reads from

    map_size = property(lambda self: square(f.map_size for f in self.axes))
    field_size = property(lambda self: square(f.field_size for f in self.axes))
    jump = property(lambda self: square(f.jump for f in self.axes))
    effective_padding = property(lambda self: square(f.effective_padding for f in self.axes))


class Recorder:
    """Collects the rows of a table, the misaligned merges and the notes."""

    def __init__(self, input_size, channels=None):
        self.rows = [Row("input", "input", tuple(Field(n) for n in input_size), channels=channels)]
        self.misaligned, self.notes = [], []

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    def add(self, name, kind, before, after, **layer):
        self.rows.append(Row(name, kind, after, is_global=sees_whole_map(before, after), **layer))
        return after

    def window(self, name, kind, before, kernel, stride, padding, dilation=1, ceil_mode=False, **cost):
        """A convolution or pooling: Field.after along each axis."""
        kernel, stride, padding, dilation = map(pair, (kernel, stride, padding, dilation))
        after = tuple(f.after(*a, ceil_mode) for f, *a in zip(before, kernel, stride, padding, dilation))
        return self.add(name, kind, before, after, kernel=square(kernel), stride=square(stride),
                        padding=square(padding), dilation=square(dilation), **cost)

    def merge(self, name, kind, inputs, out_sizes):
        """Inputs meeting in an add or cat: the union of their fields; flag misaligned centres."""
        kept = [axes for axes in inputs if tuple(f.map_size for f in axes) == out_sizes] or inputs
        if len(kept) < len(inputs):
            self.note(f"{name}: a smaller map is broadcast onto the {out_sizes} map; its field is left out")
        for axis, fields in zip(("height", "width"), zip(*kept)):
            if any(f.jump != fields[0].jump or f.centre2() != fields[0].centre2() for f in fields):
                paths = "; ".join(f"jump {f.jump}, centre {f.centre2() / 2:g}" for f in dict.fromkeys(fields))
                self.misaligned.append(f"{name}: inputs not aligned along the {axis} ({paths})")
        after = tuple(union(fields) for fields in zip(*kept))
        if len(inputs) > 1:
            self.rows.append(Row(name, kind, after))
        return after


def _total(values):
    values = list(values)
    return None if any(v is None for v in values) else sum(values)


def _shown(value):
    """A table cell: a (height, width) pair as 'HxW'."""
    return "x".join(map(str, value)) if isinstance(value, tuple) else value


class ReceptiveField:
    """Receptive-field table of a network: .rows (one per layer that moves the field),
    then .field_size, .jump, .effective_padding and .map_size at .layer, the last map
    before any layer that sees its whole map (then .global_pooling is True and
    .global_layer names it). Each is one number, or a (height, width) pair where
    the axes differ. .misaligned lists merges whose inputs' centres differ; .notes
    says what else to know.
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
        self.layer, self.map_size = final.name, final.map_size
        self.field_size, self.jump, self.effective_padding = final.field_size, final.jump, final.effective_padding
        if self.global_pooling:
            size = "x".join(str(f.map_size) for f in final.axes)
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
        for unit, f, n in zip((i, j), self._row(layer).axes, self.input_size):
            if unit is None:
                continue
            if not 0 <= unit < f.map_size:
                raise IndexError(f"position {unit} is outside the {f.map_size}-unit map")
            first, last = f.box(unit)
            boxes.append((max(first, 0), min(last, n - 1)) if clip else (first, last))
        return boxes[0] if j is None else tuple(boxes)

    @property
    def total_parameters(self):
        """Sum of the rows' parameters; None when some layer's channels are unknown."""
        return _total(row.parameters for row in self.rows if row.kind != "input")

    @property
    def total_multiply_adds(self):
        return _total(row.multiply_adds for row in self.rows if row.kind != "input")

    def summary(self):
        lines = [f"receptive field {_shown(self.field_size)} px, effective stride {_shown(self.jump)} px "
                 f"(the jump), effective padding {_shown(self.effective_padding)} px, "
                 f"at {self.layer} ({_shown(pair(self.map_size))} map)"]
        return "\n".join(lines + self.notes + [f"misaligned: {m}" for m in self.misaligned])

    def table(self):
        """The rows as a Table: the layer (kernel, stride, padding, dilation), then its map."""
        headers = ["layer", "kind", "k", "s", "pad", "d", "map", "field", "jump", "eff. pad", "parameters",
                   "mult-adds"]
        return Table(headers, [[_shown(v) for v in (
            row.name, row.kind, row.kernel, row.stride, row.padding, row.dilation,
            tuple(f.map_size for f in row.axes), row.field_size, row.jump, row.effective_padding,
            row.parameters, row.multiply_adds)] for row in self.rows])

    def __str__(self):
        return f"{self.table()}\n{self.summary()}"

    def __repr__(self):
        return (f"ReceptiveField(field_size={self.field_size}, jump={self.jump}, "
                f"effective_padding={self.effective_padding}, layer={self.layer!r}, "
                f"global_pooling={self.global_pooling})")
