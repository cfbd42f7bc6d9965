"""The receptive-field explorer: build a stack of layers, pick an output unit,
see the input pixels it depends on.

Plain ipywidgets and matplotlib figures rendered to PNG, so it runs in
JupyterLab 4 and Colab without a custom widget manager:

    from cnnlib.widgets import ReceptiveFieldExplorer
    ReceptiveFieldExplorer()          # the last expression of a cell shows it

The theoretical field (Araujo et al. 2019, Distill, via cnnlib.arith) is drawn
as a box; the effective field (Luo et al. 2016: where the gradient of that
unit really lands) as a heatmap, measured on a small randomly initialized
network with the same layers. The work is done by pure functions:

    parse_layers(text) -> [arith.Layer]         one layer per line, see LAYER_SYNTAX
    explore(layers, input_size, position) -> Exploration   table rows, box, or a message
    effective_field(layers, input_size, position) -> (H, W) tensor
    render(exploration, image, erf) -> matplotlib Figure

The widget only reads its controls, calls them, and shows the result; a bad
setting becomes a message in the widget, never a traceback.
"""
import functools
import html
import io
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import arith

__all__ = ["LAYER_SYNTAX", "PRESETS", "parse_layers", "format_layers", "Exploration", "TableRow", "explore",
           "build_network", "effective_field", "effective_field_span", "sample_photo", "render", "table_html",
           "ReceptiveFieldExplorer"]

LAYER_SYNTAX = """One layer per line: [name:] KIND KERNEL [sSTRIDE] [pPADDING] [dDILATION] [cCHANNELS] [ceil]
  KIND is conv, maxpool, avgpool or pool (max); stride defaults to 1 for conv and to the kernel for pools;
  cCHANNELS gives a convolution's output channels (default: as many as it gets).
  A first line "input cN" says the input has N channels (default 3, an RGB image).
  Example: "conv1: conv 3 s1 p1 c64", "pool 2 s2", "conv 3 p2 d2".  Text after # is ignored."""

IN_CHANNELS = 3  # an RGB photo


# Layers as text -----------------------------------------------------------------

def parse_layers(text):
    """Layer specs (arith.Layer) from text, one per line (see LAYER_SYNTAX).

    Raises ValueError naming the line of the first mistake. Each convolution's
    input channels are those of the map it reads, so parameters are known.
    """
    layers, channels = [], IN_CHANNELS
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.lower().split()
        if words[0] == "input":
            if layers or len(words) != 2 or words[1][:1] != "c" or not words[1][1:].isdigit() or words[1] == "c0":
                raise ValueError(f"line {number} ({line!r}): 'input cN' (N channels) can only be the first line")
            channels = int(words[1][1:])
            continue
        try:
            layer = _parse_line(line, channels)
        except ValueError as error:
            raise ValueError(f"line {number} ({line!r}): {error}") from None
        channels = layer.out_channels if layer.kind == "conv" else channels
        layers.append(layer)
    if not layers:
        raise ValueError("no layers: write one layer per line, e.g. 'conv 3 s1 p1 c64'")
    return layers


def _parse_line(line, channels):
    name = None
    if ":" in line:
        name, line = (part.strip() for part in line.split(":", 1))
        if not name or " " in name:
            raise ValueError("a name is one word before the colon")
    words = line.lower().split()
    if not words:
        raise ValueError("a name without a layer")
    kind = {"pool": "maxpool"}.get(words[0], words[0])
    if kind not in ("conv", "maxpool", "avgpool"):
        raise ValueError(f"unknown kind {words[0]!r}: use conv, maxpool, avgpool or pool")
    if len(words) < 2 or not words[1].isdigit():
        raise ValueError("the kernel size, a whole number, comes after the kind (e.g. 'conv 3')")
    kernel, options, ceil_mode = int(words[1]), {}, False
    for word in words[2:]:
        if word == "ceil":
            ceil_mode = True
        elif word[:1] in ("s", "p", "d", "c") and word[1:].isdigit():
            if word[0] in options:
                raise ValueError(f"{word[0]} is given twice")
            options[word[0]] = int(word[1:])
        else:
            raise ValueError(f"cannot read {word!r}: expected s<stride>, p<padding>, d<dilation>, c<channels> or ceil")
    if kernel < 1 or options.get("s", 1) < 1 or options.get("d", 1) < 1 or options.get("c", 1) < 1:
        raise ValueError("kernel, stride, dilation and channels must be at least 1")
    if kind == "conv":
        if ceil_mode:
            raise ValueError("ceil is for pooling layers")
        return arith.conv(kernel, options.get("s", 1), options.get("p", 0), options.get("d", 1),
                          in_channels=channels, out_channels=options.get("c", channels), name=name)
    if "c" in options:
        raise ValueError("a pooling layer keeps its channels: drop the c")
    span = options.get("d", 1) * (kernel - 1) + 1
    if 2 * options.get("p", 0) > span:
        raise ValueError(f"a pooling's padding can be at most half its window ({span} px), as in PyTorch")
    return arith.pool(kernel, options.get("s", kernel), options.get("p", 0), options.get("d", 1), name=name,
                      kind=kind[:3], ceil_mode=ceil_mode)


def format_layers(layers):
    """The text parse_layers reads back as the same layers (channels and names included)."""
    first_conv = next((layer for layer in layers if layer.kind == "conv"), None)
    c_in = first_conv.in_channels if first_conv is not None else None
    lines = [f"input c{c_in}"] if c_in not in (None, IN_CHANNELS) else []
    for layer in layers:
        if layer.kind not in ("conv", "maxpool", "avgpool"):
            raise ValueError(f"the explorer has no text for {layer.kind!r} layers")
        words = [layer.kind, str(layer.kernel), f"s{layer.stride}", f"p{layer.padding}"]
        if layer.dilation != 1:
            words.append(f"d{layer.dilation}")
        if layer.kind == "conv" and layer.out_channels is not None:
            words.append(f"c{layer.out_channels}")
        if layer.ceil_mode:
            words.append("ceil")
        lines.append((f"{layer.name}: " if layer.name else "") + " ".join(words))
    return "\n".join(lines)


def _vgg_stack(config):
    """VGG features from one of Table 1's columns (cnnlib.models.vgg.CONFIGS)."""
    layers, c_in, stage, index = [], IN_CHANNELS, 1, 1
    for item in config:
        if item == "M":
            layers.append(arith.pool(2, name=f"pool{stage}"))
            stage, index = stage + 1, 1
        else:
            layers.append(arith.conv(3, padding=1, in_channels=c_in, out_channels=item, name=f"conv{stage}_{index}"))
            c_in, index = item, index + 1
    return layers


def _presets():
    from .models.vgg import CONFIGS

    c = 64
    return {
        "VGG-16 (Table 1, column D)": (arith.vgg16_stack(), 224),
        "VGG-16, fc6-fc8 as convolutions": (arith.vgg16_stack(classifier=True), 224),
        "VGG-11 (Table 1, column A)": (_vgg_stack(CONFIGS["A"]), 224),
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


# The pure work -----------------------------------------------------------------

@dataclass(frozen=True)
class TableRow:
    """One line of the explorer's table: a layer and the map after it."""
    name: str
    kind: str
    kernel: Optional[int]
    stride: Optional[int]
    padding: Optional[int]
    dilation: Optional[int]
    output_size: int
    field: int         # receptive field r, input pixels
    jump: int          # effective stride j, input pixels between neighbouring units
    params: Optional[int]
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
    field: Optional[int] = None
    stride: Optional[int] = None
    padding: Optional[int] = None
    output_size: Optional[int] = None
    box: Optional[tuple] = None     # ((top, bottom), (left, right)), inclusive, may reach outside the image
    total_params: Optional[int] = None
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

        return (f"Receptive field {self.field}x{self.field} px, effective stride {self.stride} px, "
                f"output map {self.output_size}x{self.output_size}. Unit ({self.position[0]}, {self.position[1]}) "
                f"sees rows {span(top, bottom)} and columns {span(left, right)}.")


def _rows(field):
    return tuple(TableRow(row.name, row.kind, row.kernel, row.stride, row.padding, row.dilation,
                          row.output_size, row.r, row.j, row.params, row.macs)
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
    found = dict(rows=_rows(field), field=last.r, stride=last.j, padding=last.p, output_size=last.output_size,
                 total_params=field.total_params, total_multiply_adds=field.total_macs)
    if not all(0 <= p < last.output_size for p in position):
        return Exploration(**base, **found, message=(
            f"Position {position} is outside the {last.output_size}x{last.output_size} output map "
            f"(rows and columns run from 0 to {last.output_size - 1})."))
    return Exploration(**base, **found, box=field.box(*position, layer=len(field.rows) - 1))


def build_network(layers, channels=8, in_channels=IN_CHANNELS):
    """An nn.Sequential with the layers' geometry and `channels` channels per
    convolution, a ReLU after every convolution but the last: a stand-in
    network for measuring an effective field. He initialization and zero biases,
    so the signal keeps its size through a deep stack of few channels (with
    PyTorch's default initialization a 13-layer stack of 4 channels passes no
    gradient at all)."""
    modules, c, last_conv = [], in_channels, max(i for i, s in enumerate(layers) if s.kind == "conv") \
        if any(s.kind == "conv" for s in layers) else -1
    for i, spec in enumerate(layers):
        if spec.kind == "conv":
            conv = nn.Conv2d(c, channels, spec.kernel, spec.stride, spec.padding, spec.dilation)
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            modules.append(conv)
            c = channels
            if i != last_conv:
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
    an (input_size, input_size) map with maximum 1. Seeded, so repeatable; cached."""
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


@functools.lru_cache(maxsize=1)
def _photo():
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:  # ships with matplotlib
        image = Image.open(f).convert("RGB")
    side = min(image.size)
    left, top = (image.size[0] - side) // 2, (image.size[1] - side) // 2
    return image.crop((left, top, left + side, top + side))


def sample_photo(size):
    """A real photo (Grace Hopper, from matplotlib's sample data), square, size x size, as an
    (H, W, 3) uint8 array."""
    import numpy as np
    from PIL import Image

    return np.asarray(_photo().resize((size, size), Image.BILINEAR))


def render(exploration, image=None, erf=None, figsize=(10, 4.1)):
    """A Figure: the photo with the unit's theoretical field as a box (and the effective
    field as a heatmap when `erf` is given), and the gradient's profile across columns
    against the theoretical field. image: (H, W, 3) array at the input size
    (default: sample_photo). A matplotlib Figure without pyplot, so no figure piles up
    in pyplot's state when a widget redraws it."""
    n = exploration.input_size
    image = sample_photo(n) if image is None else image
    fig = Figure(figsize=figsize)
    ax_image, ax_profile = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=(1, 1.25)))
    ax_image.imshow(image, extent=(-0.5, n - 0.5, n - 0.5, -0.5), interpolation="bilinear")
    ax_image.add_patch(Rectangle((-0.5, -0.5), n, n, fill=False, ls=":", lw=1, color="gray"))
    if not exploration.ok:
        fig.suptitle("The settings make no sense yet")
        ax_image.set(title=f"input {n}x{n} px", xlabel="column (input pixels)", ylabel="row (input pixels)")
        ax_profile.axis("off")
        ax_profile.text(0, 0.5, exploration.message, wrap=True, va="center", fontsize=10)
        return fig

    (top, bottom), (left, right) = exploration.box
    r, (i, j) = exploration.field, exploration.position
    if erf is not None:
        # the gradient is peaked: scaled to its 99.5th percentile and a square root, its spread shows
        top_value = torch.quantile(erf[erf > 0], 0.995) if (erf > 0).any() else torch.tensor(1.0)
        heat = (erf / top_value).clamp(0, 1).sqrt().numpy()
        ax_image.imshow(heat, extent=(-0.5, n - 0.5, n - 0.5, -0.5), cmap="hot", alpha=0.85 * heat,
                        vmin=0, vmax=1, interpolation="nearest")
    ax_image.add_patch(Rectangle((left - 0.5, top - 0.5), r, r, fill=False, lw=2, color="cyan"))
    ax_image.plot([(left + right) / 2], [(top + bottom) / 2], "c+", ms=10)
    low, high = min(-0.5, top - 0.5, left - 0.5), max(n - 0.5, bottom + 0.5, right + 0.5)
    margin = 0.03 * (high - low)
    ax_image.set_xlim(low - margin, high + margin)
    ax_image.set_ylim(high + margin, low - margin)
    heatmap = "; heatmap: effective field" if erf is not None else ""
    ax_image.set(title=f"unit ({i}, {j}) of the {exploration.output_size}x{exploration.output_size} map\n"
                       f"cyan box: theoretical field{heatmap}",
                 xlabel="column (input pixels)", ylabel="row (input pixels)")

    ax_profile.axvspan(left - 0.5, right + 0.5, color="cyan", alpha=0.2, label=f"theoretical field, {r} px")
    ax_profile.axvspan(-0.5, n - 0.5, fill=False, ls=":", color="gray", label=f"image, {n} px")
    if erf is not None:
        profile = erf.sum(0)
        profile = profile / profile.max() if profile.max() > 0 else profile
        ax_profile.plot(range(n), profile.numpy(), color="C3", label="effective field (gradient, summed over rows)")
        span = effective_field_span(erf)
        if span is None:
            ax_profile.text(0.5, 0.55, "no gradient reached the input", transform=ax_profile.transAxes,
                            ha="center", fontsize=9, color="C3")
        else:
            first, last = span
            ax_profile.axvline(first - 0.5, color="C3", ls="--", lw=1,
                               label=f"95% of the gradient: {last - first + 1} px")
            ax_profile.axvline(last + 0.5, color="C3", ls="--", lw=1)
    else:
        ax_profile.text(0.5, 0.55, "tick 'effective field' to measure\nwhere the gradient lands",
                        transform=ax_profile.transAxes, ha="center", fontsize=9, color="gray")
    ax_profile.set_xlim(low - margin, high + margin)
    ax_profile.set_ylim(0, 1.15)
    ax_profile.set(title="Across the columns: theoretical against effective",
                   xlabel="column (input pixels)", ylabel="gradient (share of the peak)")
    ax_profile.legend(loc="upper right", fontsize=7)
    fig.suptitle(f"Receptive field of one output unit: {r}x{r} px, effective stride {exploration.stride} px")
    fig.tight_layout()
    return fig


def table_html(exploration):
    """The per-layer table (and the message or summary) as HTML."""
    def cell(v):
        return "-" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)

    headers = ["layer", "kind", "k", "s", "p", "d", "output", "field r (px)", "stride j (px)", "params",
               "mult-adds"]
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in (
            row.name, row.kind, row.kernel, row.stride, row.padding, row.dilation,
            f"{row.output_size}x{row.output_size}", row.field, row.jump, row.params, row.multiply_adds)) + "</tr>"
        for row in exploration.rows)
    if exploration.ok:
        body += ("<tr style='font-weight:bold'><td>total</td>" + "<td></td>" * 8 +
                 f"<td>{cell(exploration.total_params)}</td><td>{cell(exploration.total_multiply_adds)}</td></tr>")
    colour = "#2a7" if exploration.ok else "#c33"
    note = f"<p style='color:{colour};margin:4px 0'>{html.escape(exploration.summary())}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return (f"{note}<table style='font-size:12px;text-align:right'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


# The widget --------------------------------------------------------------------

class ReceptiveFieldExplorer:
    """The controls, the plot and the table. .widget is the box to display (or let
    the explorer show itself as a cell's last expression).

    After each change .exploration holds explore()'s result, .figure the last
    Figure, and .last_error the exception a callback raised (None when all went
    well); such an error is shown in the widget, not raised.
    """

    def __init__(self, preset="VGG-16 (Table 1, column D)", effective=False, plot_height="420px"):
        import ipywidgets as w

        self.exploration, self.figure, self.last_error, self._busy = None, None, None, False
        self.preset = w.Dropdown(options=[*PRESETS, CUSTOM], value=preset, description="preset",
                                 layout=w.Layout(width="380px"))
        self.text = w.Textarea(value=format_layers(PRESETS[preset][0]), continuous_update=False,
                               layout=w.Layout(width="380px", height="260px"))
        self.input_size = w.IntSlider(value=PRESETS[preset][1], min=1, max=512, description="input px",
                                      continuous_update=False)
        self.row = w.IntSlider(value=0, min=0, max=0, description="output row", continuous_update=False)
        self.column = w.IntSlider(value=0, min=0, max=0, description="output col", continuous_update=False)
        self.effective = w.Checkbox(value=effective, description="effective field (gradient heatmap)",
                                    indent=False)
        help_text = html.escape(LAYER_SYNTAX).replace("\n", "<br>")
        self.help = w.HTML(f"<div style='font-size:11px;line-height:1.3;width:370px'>{help_text}</div>")
        self.plot = w.Output(layout=w.Layout(height=plot_height, overflow="hidden"))
        self.table = w.HTML(layout=w.Layout(height="280px", overflow="auto"))
        controls = w.VBox([self.preset, self.text, self.help, self.input_size, self.row, self.column,
                           self.effective])
        self.widget = w.HBox([controls, w.VBox([self.plot, self.table], layout=w.Layout(width="100%"))])
        self.preset.observe(self._on_preset, names="value")
        for control in (self.text, self.input_size, self.row, self.column, self.effective):
            control.observe(self._on_change, names="value")
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # callbacks: each guards the whole update, so an error shows in the widget and is kept for tests
    def _on_preset(self, change):
        if self._busy or change["new"] == CUSTOM:
            return
        self._guarded(self._load_preset, change["new"])

    def _on_change(self, change):
        if not self._busy:
            self._guarded(self._refresh)

    def _guarded(self, action, *args):
        self._busy = True
        try:
            action(*args)
            self.last_error = None
        except Exception as error:  # shown, not raised: a widget callback has nowhere to raise to
            self.last_error = error
            self.table.value = (f"<p style='color:#c33'>Internal error in the explorer: "
                                f"{html.escape(type(error).__name__)}: {html.escape(str(error))}</p>")
        finally:
            self._busy = False

    def update(self):
        """Recompute from the controls' current values and redraw."""
        self._guarded(self._refresh)

    def _load_preset(self, name):
        layers, size = PRESETS[name]
        self.text.value, self.input_size.value = format_layers(layers), size
        self.row.value = self.column.value = 0
        self._refresh()

    def _refresh(self):
        try:
            layers = parse_layers(self.text.value)
        except ValueError as error:
            self._show(Exploration((), self.input_size.value, (self.row.value, self.column.value),
                                   message=f"Cannot read the layers: {error}"))
            return
        self._mark_custom(layers)
        exploration = explore(layers, self.input_size.value, (0, 0))
        if exploration.ok:  # the sliders follow the output map before the position is used
            last = exploration.output_size - 1
            for slider in (self.row, self.column):
                slider.max = max(last, slider.min)  # ipywidgets clamps the value to the new range
                slider.value = min(slider.value, last)
            exploration = explore(layers, self.input_size.value, (self.row.value, self.column.value))
        self._show(exploration)

    def _mark_custom(self, layers):
        preset = PRESETS.get(self.preset.value)
        if preset is None or format_layers(preset[0]) != format_layers(layers):
            self.preset.value = CUSTOM

    def _show(self, exploration):
        from IPython.display import Image, clear_output, display

        self.exploration = exploration
        for slider in (self.row, self.column):
            slider.disabled = not exploration.ok
        erf = None
        if exploration.ok and self.effective.value:
            erf = effective_field(exploration.layers, exploration.input_size, exploration.position)
        self.figure = render(exploration, erf=erf)
        self.table.value = table_html(exploration)
        with self.plot:
            clear_output(wait=True)
            display(Image(_png(self.figure)))
