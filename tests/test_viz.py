import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from cnnlib import data, train, viz  # noqa: E402


class FixedPredictions(nn.Module):
    """Predicts the given classes, in order, whatever the images."""

    def __init__(self, predictions):
        super().__init__()
        self.predictions = torch.tensor(predictions)
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, images):
        return nn.functional.one_hot(self.predictions[:len(images)], 10).float() + 0 * self.weight


def tiny_cifar(labels):
    n = len(labels)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor(labels)
    return data.Cifar10(images, labels, images, labels, "test images")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# "automobile / airplane" is the longest one-line title ten classes can give.
LABELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2]
PREDICTED = [0, 0, 2, 5, 4, 5, 6, 1, 8, 9, 1, 1, 9, 8, 7, 3, 5, 4, 3, 2]


def test_prediction_titles_say_right_or_wrong_in_one_line_with_the_true_class():
    fig = viz.predictions_grid(FixedPredictions(PREDICTED), tiny_cifar(LABELS), count=20)
    titles = [ax.title for ax in fig.axes if ax.title.get_text()]
    classes = data.CLASSES
    assert len(titles) == 20
    for title, p, y in zip(titles, PREDICTED, LABELS):
        text = title.get_text()
        assert "\n" not in text
        if p == y:
            assert text == f"✓ {classes[p]}" and title.get_color() == viz.RIGHT
        else:
            assert text == f"✗ {classes[p]} / {classes[y]}" and title.get_color() == viz.WRONG
    wrong = sum(p != y for p, y in zip(PREDICTED, LABELS))
    assert f"{20 - wrong} right" in fig._suptitle.get_text() and f"{wrong} wrong" in fig._suptitle.get_text()


@pytest.mark.parametrize("count", [20, 7])
def test_prediction_titles_overlap_no_image_no_other_title_and_not_the_figure_title(count):
    # Every prediction wrong and "automobile / airplane" among them: the widest titles.
    predicted = [1 if y == 0 else 0 for y in LABELS]
    fig = viz.predictions_grid(FixedPredictions(predicted), tiny_cifar(LABELS), count=count)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.images]
    images = [ax.get_window_extent(renderer) for ax in axes]
    titles = [ax.title.get_window_extent(renderer) for ax in axes]
    suptitle = fig._suptitle.get_window_extent(renderer)
    assert len(axes) == count
    for i, title in enumerate(titles):
        assert not any(title.overlaps(image) for image in images), f"title {i} overlaps an image"
        assert not any(title.overlaps(other) for j, other in enumerate(titles) if j != i), f"title {i} overlaps"
        assert not title.overlaps(suptitle), f"title {i} touches the figure's title"
        assert fig.bbox.contains(title.x0, title.y0) and fig.bbox.contains(title.x1, title.y1)


def test_predictions_grid_leaves_the_model_in_its_mode():
    model = FixedPredictions(PREDICTED)
    model.train()
    viz.predictions_grid(model, tiny_cifar(LABELS), count=5)
    assert model.training
    model.eval()
    viz.predictions_grid(model, tiny_cifar(LABELS), count=5)
    assert not model.training


def history(epochs):
    h = train.History()
    for e in range(1, epochs + 1):
        h.epoch.append(e)
        h.train_loss.append(2.0 / e)
        h.test_loss.append(2.1 / e)
        h.train_acc.append(0.1 * e)
        h.test_acc.append(0.09 * e)
    return h


def test_plot_histories_leaves_out_runs_without_an_epoch_and_names_them():
    stopped = history(0)
    stopped.interrupted = True
    fig = viz.plot_histories({"trained": history(3), "stopped": stopped}, title="Runs")
    ax_loss, ax_acc = fig.axes
    assert len(ax_acc.lines) == 2  # the trained run's training and test curves only
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend == ["trained", "training set", "test set"]
    assert [100 * a for a in history(3).train_acc] == pytest.approx(list(ax_acc.lines[0].get_ydata()))
    assert "stopped" in fig._suptitle.get_text() and "Runs" in fig._suptitle.get_text()


def test_plot_histories_with_no_trained_run_still_draws_the_axes():
    fig = viz.plot_histories({"stopped": history(0)})
    assert all(not ax.lines for ax in fig.axes)
    assert "stopped" in fig._suptitle.get_text()


def test_plot_histories_shows_error_as_one_minus_accuracy():
    fig = viz.plot_histories({"run": history(2)}, error=True)
    assert list(fig.axes[1].lines[0].get_ydata()) == pytest.approx([90.0, 80.0])
    assert fig.axes[1].get_ylabel() == "error (%)"


def test_show_images_titles_keep_clear_of_the_images_above_and_of_the_figure_title():
    labels = [1, 0, 9, 8, 7, 6, 5, 4, 3, 2] * 3
    fig = viz.show_images(tiny_cifar(labels).test_images, torch.tensor(labels), title="Images")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.images]
    images = [ax.get_window_extent(renderer) for ax in axes]
    titles = [ax.title.get_window_extent(renderer) for ax in axes]
    assert [ax.title.get_text() for ax in axes] == [data.CLASSES[y] for y in labels]
    for i, title in enumerate(titles):
        assert not any(title.overlaps(image) for image in images), f"title {i} overlaps an image"
        assert not title.overlaps(fig._suptitle.get_window_extent(renderer))


def test_plot_histories_marks_whole_epochs_only():
    fig = viz.plot_histories({"run": history(3)})
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_label_points_keeps_labels_apart():
    fig, ax = plt.subplots(figsize=(4, 3))
    points = [(1.0, 1.0, "first long label"), (1.05, 1.0, "second long label"), (1.1, 1.02, "third long label")]
    ax.scatter([p[0] for p in points], [p[1] for p in points])
    viz.label_points(ax, points)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == 3
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)


def test_show_run_prints_the_run_and_its_reference_and_draws_its_curves(capsys):
    from cnnlib import recipes

    recipe = recipes.get("baseline", "quick")
    trained = history(3)
    trained.lr, trained.seconds, trained.images_per_second = [0.1] * 3, [1.0] * 3, [100.0] * 3
    trained.meta["data"] = "embedded subset"
    run = recipes.Run("baseline", recipe, nn.Linear(2, 2), trained)
    fig = viz.show_run(run)
    out = capsys.readouterr().out
    assert "baseline: cifar_baseline" in out and "6 parameters" in out and "History(3 epochs" in out
    assert "shipped:" in out and fig is not None and len(fig.axes[1].lines) == 2
    stopped = recipes.Run("baseline", recipe, nn.Linear(2, 2), history(0))
    assert viz.show_run(stopped) is None and "no curves" in capsys.readouterr().out


def test_draw_inception_labels_every_layer_from_the_module_and_the_concatenation():
    from cnnlib.models.googlenet import INCEPTION_TABLE, Inception

    block = Inception(192, *INCEPTION_TABLE["3a"], branch3_kernel=5)
    fig = viz.draw_inception(block, 28, title="inception(3a)")
    texts = [t.get_text() for t in fig.axes[0].texts]
    # one box per layer: 1x1; 1x1 -> 3x3; 1x1 -> 5x5; pool -> 1x1, each with its channels
    for expected in ["1x1 conv\n192 -> 64 channels", "1x1 conv\n192 -> 96 channels", "3x3 conv\n96 -> 128 channels",
                     "1x1 conv\n192 -> 16 channels", "5x5 conv\n16 -> 32 channels", "1x1 conv\n192 -> 32 channels",
                     "3x3 max pool, stride 1\n192 channels", "input: 192 x 28 x 28",
                     "concatenate along the channels: 64 + 128 + 32 + 32 = 256 x 28 x 28"]:
        assert expected in texts
    assert fig.axes[0].get_title().startswith("inception(3a): four branches")
    assert len(fig.axes[0].get_legend().get_texts()) == 3


def test_plot_sweeps_stars_each_best_rate_and_says_when_it_is_on_the_edge():
    from cnnlib import recipes

    sweeps = {"relu": recipes.Sweep({0.01: 0.5, 0.03: 0.3, 0.1: 0.6}, 0.03, True),
              "tanh": recipes.Sweep({0.01: 0.7, 0.03: 0.4}, 0.03, False), "none": recipes.Sweep({}, None, False)}
    fig = viz.plot_sweeps(sweeps, "training error (%)", "a sweep", reference=(0.9, "chance"))
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels == ["relu (best 0.03)", "tanh (best 0.03, on the edge)", "chance"]
    plt.close(fig)


def test_a_rate_that_never_reached_the_target_is_marked_not_dropped():
    from cnnlib import recipes

    fig = viz.plot_sweeps({"tanh": recipes.Sweep({0.03: math.inf, 0.1: 36, 0.3: math.inf}, 0.1, True)},
                          "epochs", "race", scale=1)
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert "not reached within the budget (drawn at the top)" in labels
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0.03", "0.1", "0.3"]
    plt.close(fig)
