"""Plots and tables for the notebooks: training curves, image grids, source, tables.

Every plot has a title, axis labels with units and a legend. Functions return
the matplotlib Figure so a notebook can save or tweak it.
"""
import inspect

import matplotlib.pyplot as plt
import torch

from . import data as data_module
from .table import Table  # noqa: F401  (viz.Table: the course's one table renderer)


def plot_histories(histories, title="Training curves", error=False):
    """Loss and accuracy (or error) per epoch for several runs: {name: History}.

    Solid lines are the training split, dashed lines the test split, one colour per run.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, (name, history) in enumerate(histories.items()):
        colour = f"C{i}"
        ax_loss.plot(history.epoch, history.train_loss, "-", color=colour, label=f"{name} train")
        ax_loss.plot(history.epoch, history.test_loss, "--", color=colour, label=f"{name} test")
        if error:
            train = [100 * (1 - a) for a in history.train_acc]
            test = [100 * (1 - a) for a in history.test_acc]
        else:
            train = [100 * a for a in history.train_acc]
            test = [100 * a for a in history.test_acc]
        ax_acc.plot(history.epoch, train, "-", color=colour, label=f"{name} train")
        ax_acc.plot(history.epoch, test, "--", color=colour, label=f"{name} test")
    ax_loss.set(title="Cross-entropy loss", xlabel="epoch", ylabel="loss (nats)")
    ax_acc.set(title="Error" if error else "Accuracy", xlabel="epoch",
               ylabel="error (%)" if error else "accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(images, labels=None, classes=data_module.CLASSES, columns=10, title="CIFAR-10 images"):
    """A grid of uint8 (N, 3, H, W) images with their class names."""
    images = images.detach().cpu()
    count = len(images)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.05), squeeze=False)
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


@torch.no_grad()
def predictions_grid(model, data, count=20):
    """Test images with the model's predicted class; wrong predictions are marked."""
    images = data.test_images[:count]
    labels = data.test_labels[:count]
    model.eval()
    device = next(model.parameters()).device
    predicted = model(data_module.normalize(images.to(device))).argmax(1).cpu()
    labels = labels.cpu()
    classes = data.classes
    names = [f"{classes[p]}" + ("" if p == y else f"\n(is {classes[y]})") for p, y in zip(predicted.tolist(), labels.tolist())]
    fig = show_images(images, title="Predictions on test images (second line: the true class when wrong)")
    for ax, name in zip(fig.axes, names):
        ax.set_title(name, fontsize=7)
    return fig
