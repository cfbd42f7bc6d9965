import pytest

from cnnlib import claims, published


def test_parameter_counts_are_torchvisions():
    counts = {r.name: r.parameters() for r in published.RESULTS}
    assert counts["AlexNet"] == 61_100_840 and counts["VGG-16"] == 138_357_544
    assert counts["GoogLeNet"] == 6_624_904 and counts["ResNet-152"] == 60_192_808
    assert counts["DenseNet-201"] == 20_013_928


def test_results_are_single_models_in_order_of_publication():
    years = [r.year for r in published.RESULTS]
    assert years == sorted(years)
    assert all(0 < r.top5_error < 30 and "Table" in r.source for r in published.RESULTS)


def test_each_step_is_judged_smaller_minus_larger():
    entries = [dict(name="big", parameters=100, accuracy=0.90, images=50_000),
               dict(name="small", parameters=10, accuracy=0.95, images=50_000),
               dict(name="huge", parameters=1000, accuracy=0.951, images=50_000)]
    first, second = published.steps(entries)
    assert first.smaller == "small" and first.agrees and first.difference.supports and first.ratio == pytest.approx(0.1)
    assert second.smaller == "small" and not second.difference.decided  # 0.1 points on 50,000 images is noise
    assert first.change == pytest.approx(5.0)


def test_on_the_published_results_s7_is_a_demonstration_that_fails_where_parameters_grew():
    # Different papers, trainings and test protocols: read off, never judged by a binomial noise rule.
    found = published.steps(published.imagenet_entries())
    assert all(s.difference is None for s in found)
    grew = [s for s in found if s.ratio > 1]
    assert grew and not any(s.agrees for s in grew)  # more parameters and more accurate: against S-7
    assert [s.agrees for s in found if s.ratio < 1] == [True] * sum(s.ratio < 1 for s in found)
    check = claims.ClaimCheck()
    check.demonstration("S-7", "", holds=all(s.agrees for s in found), correction="accuracy rose with the year")
    row = check.rows[-1]
    assert row.kind == claims.DEMONSTRATION and row.verdict == claims.CORRECTED


def test_the_table_names_the_ensembles():
    text = str(published.table())
    assert "7 models, 144 crops" in text and "61,100,840" in text


def test_the_s7_row_is_a_demonstration_corrected_by_the_steps_that_go_against_the_note():
    check = claims.ClaimCheck()
    published.add_s7_row(check, published.steps(published.imagenet_entries()))
    row = check.rows[-1]
    assert row.kind == claims.DEMONSTRATION and row.verdict == claims.CORRECTED
    assert "AlexNet -> VGG-16 took x2.3 the parameters" in row.detail
