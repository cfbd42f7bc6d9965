"""Plots and tables for the notebooks: training curves, image grids, source, tables.

Every plot has a title, axis labels with units and a legend. Functions return
the matplotlib Figure so a notebook can save or tweak it.
"""
import inspect
import math

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.ticker import MaxNLocator
import torch

from . import data as data_module
from . import results
from .arith import count_parameters
from .data.batches import normalize
from .modules import device_of, in_mode
from .table import Table  # noqa: F401  (viz.Table: the course's one table renderer)


def plot_histories(histories, title="Training curves", error=False):
    """Loss and accuracy (or error) per epoch for several runs: {name: History}.

    Solid lines are the training split, dashed lines the test split, one colour per run;
    one legend beside the two plots names the runs. A run with no finished epoch
    (stopped before its first) is left out and named in the title.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 3.8))
    untrained = [name for name, history in histories.items() if not history.epoch]
    handles = []
    scale = (lambda a: 100 * (1 - a)) if error else (lambda a: 100 * a)
    for i, (name, history) in enumerate(histories.items()):
        if not history.epoch:
            continue
        colour = f"C{i}"
        scored = [i for i, a in enumerate(history.test_acc) if a is not None]  # see fit's evaluate_every
        ax_loss.plot(history.epoch, history.train_loss, "-", color=colour)
        ax_loss.plot([history.epoch[i] for i in scored], [history.test_loss[i] for i in scored], "--",
                     color=colour, marker="o" if len(scored) < len(history.epoch) else None, ms=3)
        ax_acc.plot(history.epoch, [scale(a) for a in history.train_acc], "-", color=colour)
        ax_acc.plot([history.epoch[i] for i in scored], [scale(history.test_acc[i]) for i in scored], "--",
                    color=colour, marker="o" if len(scored) < len(history.epoch) else None, ms=3)
        handles.append(Line2D([], [], color=colour, label=name))
    ax_loss.set(title="Cross-entropy loss", xlabel="epoch", ylabel="loss (nats)")
    ax_acc.set(title="Error" if error else "Accuracy", xlabel="epoch",
               ylabel="error (%)" if error else "accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    if handles:
        handles += [Line2D([], [], color="gray", ls="-", label="training set"),
                    Line2D([], [], color="gray", ls="--", label="test set")]
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.99, 0.5), fontsize=8, frameon=False)
    fig.suptitle(title + (f"\n(no finished epoch, not shown: {', '.join(untrained)})" if untrained else ""))
    fig.tight_layout()
    return fig


def show_run(run, title=None):
    """A trained recipe (a cnnlib.recipes.Run) as the notebooks show one: what was trained, the
    learner's result beside the shipped full-mode reference, and the curves (or why there are none)."""
    recipe = run.recipe
    print(f"{run.name}: {recipe.model} {recipe.options}, {recipe.epochs} epochs, batch {recipe.batch_size}, "
          f"lr {recipe.lr}, {count_parameters(run.model):,} parameters")
    print(f"your run: {run.history}")
    print(f"shipped:  {results.describe_reference(recipe.name)}")
    if not run.history.epoch:
        print("training was stopped before an epoch finished: no curves (run the cell again to train)")
        return None
    return plot_histories({run.name: run.history},
                          title=title or f"{run.name} on CIFAR-10 ({recipe.mode} mode, {run.history.meta['data']})")


def plot_sweeps(sweeps, ylabel, title, scale=100, reference=None):
    """Learning-rate sweeps ({label: recipes.Sweep}) on a log axis, the best rate of each starred;
    scale multiplies the values (100: rates as percent); reference: (value, label) drawn as a line.
    An infinite value (a target never reached) is an x on the top edge."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    finite = [scale * v for sweep in sweeps.values() for v in sweep.values.values() if math.isfinite(v)]
    top = max(finite + [scale * reference[0]] if reference else finite or [1]) * 1.08
    never = False
    for i, (label, sweep) in enumerate(sweeps.items()):
        if not sweep.values:
            continue
        rates = sorted(sweep.values)
        shown = [scale * sweep.values[r] if math.isfinite(sweep.values[r]) else math.nan for r in rates]
        ax.semilogx(rates, shown, "o-", color=f"C{i}",
                    label=f"{label} (best {sweep.best:g}{'' if sweep.bracketed else ', on the edge'})")
        missing = [r for r in rates if not math.isfinite(sweep.values[r])]
        ax.semilogx(missing, [top] * len(missing), "x", ms=10, mew=2, color=f"C{i}", clip_on=False)
        never |= bool(missing)
        ax.semilogx([sweep.best], [scale * sweep.values[sweep.best]], "*", ms=14, color=f"C{i}")
    if reference is not None:
        ax.axhline(scale * reference[0], color="gray", ls=":", label=reference[1])
    if never:
        ax.plot([], [], "x", color="gray", label="not reached within the budget (drawn at the top)")
    tried = sorted({r for sweep in sweeps.values() for r in sweep.values})
    ax.set_xticks(tried, [f"{r:g}" for r in tried])
    ax.minorticks_off()
    ax.set(title=title, xlabel="learning rate (log scale)", ylabel=ylabel, ylim=(None, top * 1.02))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def label_points(ax, points, fontsize=7):
    """Write each (x, y, text) of `points` beside its point on `ax`, moving a label to the
    next free place (right, below, above, left) where it would cover a label already written."""
    figure = ax.figure
    figure.canvas.draw()  # the renderer measures text
    renderer = figure.canvas.get_renderer()
    placed = []
    for x, y, text in points:
        label = None
        for dx, dy, align in ((4, 3, "left"), (4, -10, "left"), (4, 12, "left"), (-4, 3, "right"),
                              (-4, -10, "right"), (4, -20, "left"), (4, 22, "left")):
            if label is not None:
                label.remove()
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                                ha=align)
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                break
        placed.append(label.get_window_extent(renderer))


def show_images(images, labels=None, classes=data_module.CLASSES, columns=10, title="CIFAR-10 images"):
    """A grid of uint8 (N, 3, H, W) images with their class names."""
    images = images.detach().cpu()
    count = len(images)
    rows = -(-count // columns)
    # a titled row gets room for its titles, so they keep clear of the images above
    height = 1.2 if labels is not None else 1.0
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * height + 0.35), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(count):
        ax = axes.flat[i]
        ax.imshow(images[i].permute(1, 2, 0).numpy(), interpolation="nearest")
        if labels is not None:
            ax.set_title(classes[int(labels[i])], fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_source(obj):
    """The source code of a class or function, highlighted (the code that runs is the code you read)."""
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


RIGHT, WRONG = "#1a7f37", "#c62828"  # green and red, each with its own mark (not colour alone)


@torch.no_grad()
def predictions_grid(model, data, count=20, columns=5):
    """The first `count` test images, each titled with the model's prediction on one line:
    "✓ cat" in green when right, "✗ dog / cat" (predicted / true) in red when wrong.

    Each tile is wide enough for the longest one-line title ("automobile / airplane")
    and tall enough that a title never reaches the image above. Leaves the model's
    mode (train or eval) as it found it.
    """
    images = data.test_images[:count]
    labels = data.test_labels[:count].cpu().tolist()
    with in_mode(model):
        predicted = model(normalize(images.to(device_of(model)))).argmax(1).cpu().tolist()
    classes = data.classes
    # Laid out in inches, not by tight_layout: each tile is an image with a band above it
    # for its title, so no title can reach the image above or the figure's title.
    tile, image, band, top = 1.55, 1.3, 0.3, 0.45
    rows = -(-len(labels) // columns)
    width, height = columns * tile, rows * (image + band) + top + 0.1
    fig = plt.figure(figsize=(width, height))
    pictures = images.detach().cpu()
    for i, (picture, p, y) in enumerate(zip(pictures, predicted, labels)):
        row, column = divmod(i, columns)
        left = column * tile + (tile - image) / 2
        bottom = height - top - (row + 1) * (image + band) + 0.05
        ax = fig.add_axes((left / width, bottom / height, image / width, image / height))
        ax.imshow(picture.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.axis("off")
        title = f"✓ {classes[p]}" if p == y else f"✗ {classes[p]} / {classes[y]}"
        ax.set_title(title, fontsize=8, color=RIGHT if p == y else WRONG, pad=3)
    right = sum(p == y for p, y in zip(predicted, labels))
    fig.suptitle(f"Predictions on {len(labels)} test images: {right} right (✓, green), "
                 f"{len(labels) - right} wrong (✗ predicted / true, red)", fontsize=10,
                 y=1 - 0.12 / height, va="top")
    return fig


INCEPTION_COLOURS = {"reduce": "#f2b880", "conv": "#9cc5a1", "pool": "#d0d0d0", "join": "#a9c6e8"}


def draw_inception(block, size, title=None):
    """An Inception block (models.googlenet.Inception, with its 1x1 reductions) drawn as the
    paper's Fig. 2(b): one column per branch, each box a layer with the channels read from the
    module that runs, the input below and the concatenation on top; `size` is the map's height
    and width, for the labels. Returns the Figure."""
    fig, ax = plt.subplots(figsize=(11, 5.6))
    ax.set(xlim=(-0.65, 3.65), ylim=(-0.9, 3.45))
    ax.axis("off")

    def box(x, y, width, text, kind):
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.27), width, 0.54, boxstyle="round,pad=0.02",
                                    fc=INCEPTION_COLOURS[kind], ec="black"))
        ax.text(x, y, text, ha="center", va="center", fontsize=10)

    def arrow(x, y0, y1, label=""):
        ax.annotate("", (x, y1 - 0.29), (x, y0 + 0.29), arrowprops=dict(arrowstyle="->", lw=1.2))
        if label:
            ax.text(x + 0.04, (y0 + y1) / 2 - 0.05, label, fontsize=9, color="dimgray")

    def conv(layer, kind):  # a BasicConv2d
        c = layer.conv
        return f"{c.kernel_size[0]}x{c.kernel_size[0]} conv\n{c.in_channels} -> {c.out_channels} channels", kind

    pool = block.branch4[0]
    columns = [[conv(block.branch1, "conv")],
               [conv(block.branch2[0], "reduce"), conv(block.branch2[1], "conv")],
               [conv(block.branch3[0], "reduce"), conv(block.branch3[1], "conv")],
               [(f"{pool.kernel_size}x{pool.kernel_size} max pool, stride {pool.stride}\n"
                 f"{block.in_channels} channels", "pool"), conv(block.branch4[1], "reduce")]]
    outs = [block.branch1.conv.out_channels] + [branch[-1].conv.out_channels
                                                for branch in (block.branch2, block.branch3, block.branch4)]
    box(1.5, 0, 4.1, f"input: {block.in_channels} x {size} x {size}", "join")
    box(1.5, 3, 4.1, f"concatenate along the channels: {' + '.join(map(str, outs))} = "
                     f"{block.out_channels} x {size} x {size}", "join")
    for x, layers in enumerate(columns):
        ys = [2] if len(layers) == 1 else [1, 2]
        arrow(x, 0, ys[0], f"{block.in_channels}")
        for y, (text, kind) in zip(ys, layers):
            box(x, y, 0.92, text, kind)
        if len(ys) == 2:
            arrow(x, 1, 2)
        arrow(x, 2, 3, f"{outs[x]}")
    ax.legend(handles=[Patch(fc=INCEPTION_COLOURS["reduce"], ec="black", label="1x1 reduction / pool projection"),
                       Patch(fc=INCEPTION_COLOURS["conv"], ec="black", label="convolution giving the block's channels"),
                       Patch(fc=INCEPTION_COLOURS["pool"], ec="black", label="max pooling (no weights)")],
              loc="lower center", ncol=3, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.02))
    ax.set_title(f"{title or 'An Inception block'}: four branches on one input (numbers on the arrows: channels)")
    fig.tight_layout()
    return fig
