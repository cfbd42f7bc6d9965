"""Drawing an Exploration: the matplotlib figure (photo, field box, effective-field
heatmap and profile), the table (a viz.Table) and the PNG bytes the widget shows."""
import functools
import html
import io

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..table import Table
from .exploration import effective_field_span
from .layer_text import shorten

MAX_SHOWN = 400  # characters of a message drawn or shown: a pasted page must not take minutes to draw


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


def render(exploration, image=None, erf=None, figsize=(10, 4.1), note=None):
    """A Figure: the photo with the unit's theoretical field as a box (and the effective
    field as a heatmap when `erf` is given), and the gradient's profile across columns
    against the theoretical field. image: (H, W, 3) array at the input size
    (default: sample_photo). note: why the effective field was not measured, drawn in
    its place. A matplotlib Figure without pyplot, so no figure piles up in pyplot's
    state when a widget redraws it."""
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
        ax_profile.text(0, 0.5, shorten(exploration.message, MAX_SHOWN), wrap=True, va="center", fontsize=10)
        return fig

    (top, bottom), (left, right) = exploration.box
    r, (i, j) = exploration.field_size, exploration.position
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
    ax_image.set(title=f"unit ({i}, {j}) of the {exploration.map_size}x{exploration.map_size} map\n"
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
    elif note:
        ax_profile.text(0.03, 0.55, shorten(note, MAX_SHOWN), transform=ax_profile.transAxes, wrap=True,
                        fontsize=8, color="C3", va="center")
    else:
        ax_profile.text(0.5, 0.55, "tick 'effective field' to measure\nwhere the gradient lands",
                        transform=ax_profile.transAxes, ha="center", fontsize=9, color="gray")
    ax_profile.set_xlim(low - margin, high + margin)
    ax_profile.set_ylim(0, 1.15)
    ax_profile.set(title="Across the columns: theoretical against effective",
                   xlabel="column (input pixels)", ylabel="gradient (share of the peak)")
    ax_profile.legend(loc="upper right", fontsize=7)
    fig.suptitle(f"Receptive field of one output unit: {r}x{r} px, effective stride {exploration.jump} px")
    fig.tight_layout()
    return fig


def exploration_table(exploration):
    """The per-layer table, with a total row when the settings make sense."""
    rows = [[row.name, row.kind, row.kernel, row.stride, row.padding, row.dilation,
             f"{row.map_size}x{row.map_size}", row.field_size, row.jump, row.parameters, row.multiply_adds]
            for row in exploration.rows]
    if exploration.ok:
        rows.append(["total", *[""] * 8, exploration.total_parameters, exploration.total_multiply_adds])
    return Table(["layer", "kind", "k", "s", "p", "d", "map", "field (px)", "jump (px)", "parameters", "mult-adds"],
                 rows)


def table_html(exploration, note=None):
    """The summary (or the message), the note on the effective field, and the table, as HTML."""
    colour = "#2a7" if exploration.ok else "#c33"
    style = "margin:4px 0;line-height:1.4"
    lines = [f"<p style='color:{colour};{style}'>{html.escape(shorten(exploration.summary(), MAX_SHOWN))}</p>"]
    if note:
        lines.append(f"<p style='color:#b50;{style}'>{html.escape(shorten(note, MAX_SHOWN))}</p>")
    table = exploration_table(exploration).html()
    return "".join(lines) + f"<div style='font-size:12px;text-align:right'>{table}</div>"


def png(fig, dpi=90):
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
