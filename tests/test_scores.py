import math
import statistics

import pytest

from cnnlib import claims, recipes, results, scores


pytestmark = pytest.mark.usefixtures("results_in_tmp")  # small_data and results_in_tmp: ../conftest.py


def run_of(small_data, seed=0, **overrides):
    return recipes.run("baseline", small_data, seed=seed, mode="quick", epochs=1, options={"width": 4},
                       score_training=True, progress=False, verbose=False, **overrides)


def test_a_score_is_the_rate_its_images_and_no_spread_where_none_is_shipped(small_data, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "REFERENCES", tmp_path / "references")
    run = run_of(small_data)
    error, accuracy = scores.of(run, "train_error"), scores.of(run, "test_acc")
    assert error.value == pytest.approx(1 - run.history.meta["train_score"]["accuracy"])
    assert error.images == len(small_data.train_labels) and accuracy.images == len(small_data.test_labels)
    assert accuracy.value == run.history.final["test_acc"] and error.spread is None
    # without a spread the noise is the binomial one of the two rates
    other = scores.of(run_of(small_data, seed=1), "train_error")
    expected = claims.compare(error.value, other.value, error.images, other.images)
    assert scores.versus(error, other) == expected


def test_a_shipped_seed_spread_widens_the_noise(small_data, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "REFERENCES", tmp_path / "references")
    runs = [run_of(small_data, seed=s) for s in range(3)]
    results.publish("quick", "cpu")
    error = scores.of(runs[0], "train_error")
    values = [r.history.meta["train_score"]["accuracy"] for r in runs]
    assert error.spread.seeds == 3 and error.spread.sd == pytest.approx(statistics.stdev(values))
    difference = scores.versus(error, error)
    binomial_only = claims.compare(error.value, error.value, error.images, error.images)
    assert difference.standard_error > binomial_only.standard_error and math.isfinite(difference.dof)


def test_a_run_not_scored_on_its_training_split_is_named(small_data):
    run = recipes.run("baseline", small_data, mode="quick", epochs=1, options={"width": 4}, record=False,
                      progress=False, verbose=False)
    with pytest.raises(ValueError, match="score_training=True"):
        scores.of(run, "train_error")
    with pytest.raises(ValueError, match="unknown rate"):
        scores.of(run, "accuracy")


def test_above_chance_counts_only_the_measured_sides_noise():
    learned = scores.above_chance(scores.Score("plain56", "train_error", 0.817, 3000))
    assert learned.value == pytest.approx(0.083)
    assert learned.standard_error == pytest.approx(math.sqrt(0.817 * 0.183 / 3000))
    assert learned.supports
    at_chance = scores.above_chance(scores.Score("stuck", "train_error", 0.899, 3000))
    assert not at_chance.decided


def test_only_accuracies_with_accuracies_and_errors_with_errors():
    fit, test = scores.Score("a", "train_acc", 0.9, 1000), scores.Score("a", "test_acc", 0.4, 3000)
    assert scores.versus(fit, test).value == pytest.approx(0.5)  # a run's train-test gap
    with pytest.raises(ValueError, match="accuracies or errors"):
        scores.versus(fit, scores.Score("b", "test_error", 0.6, 3000))


def test_epochs_to_an_error_reads_the_recorded_running_accuracy():
    record = {"history": {"train_acc": [0.3, 0.6, 0.76, 0.8]}}
    assert scores.epochs_to(0.25)(record) == 3
    assert scores.epochs_to(0.1)(record) == math.inf


def test_the_seeds_of_a_setting_are_this_run_and_the_shipped_others(small_data, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "REFERENCES", tmp_path / "references")
    runs = [run_of(small_data, seed=s) for s in range(3)]
    alone = scores.of_seeds(runs[0], "test_acc")
    assert alone.values == (runs[0].history.final["test_acc"],)  # nothing shipped yet
    results.publish("quick", "cpu")
    both = scores.of_seeds(runs[0], "train_error")
    assert both.values == tuple(1 - r.history.meta["train_score"]["accuracy"] for r in runs)
    difference = scores.versus_seeds(both, both)
    assert difference.value == 0 and math.isfinite(difference.dof)
