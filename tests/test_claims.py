import math

import pytest

from cnnlib import claims


def test_every_claim_of_the_notes_has_its_korean_line_and_english():
    expected = {"G-1"} | {f"A-{i}" for i in range(1, 7)} | {f"R-{i}" for i in range(1, 5)} | \
        {f"V-{i}" for i in range(1, 5)} | {f"I-{i}" for i in range(1, 6)} | {f"S-{i}" for i in range(1, 8)} | \
        {f"D-{i}" for i in range(1, 5)}
    assert set(claims.CLAIMS) == expected
    for claim in claims.CLAIMS.values():
        assert claim.note and claim.english
        assert any("\uac00" <= ch <= "\ud7a3" for ch in claim.note) or claim.note.isascii()


def test_the_noise_rule_is_two_binomial_standard_errors():
    d = claims.compare(0.60, 0.50, n=1000)
    se = math.sqrt(0.6 * 0.4 / 1000 + 0.5 * 0.5 / 1000)
    assert d.value == pytest.approx(0.10) and d.standard_error == pytest.approx(se)
    assert d.threshold == pytest.approx(2 * se) and d.supports
    small = claims.compare(0.52, 0.50, n=1000)
    assert not small.decided  # 2 points on 1,000 images is within the noise (about 4.4 points)
    assert claims.compare(0.52, 0.50, n=100_000).supports  # the same gap on 100,000 images is not


def test_seed_spread_adds_to_the_noise():
    without = claims.compare(0.60, 0.55, n=10_000)
    with_seeds = claims.compare(0.60, 0.55, n=10_000, seeds=[0.58, 0.62, 0.60], seeds_other=[0.50, 0.60, 0.55])
    assert with_seeds.standard_error > without.standard_error
    one_seed = claims.compare(0.60, 0.55, n=10_000, seeds=[0.60], seeds_other=[0.55])
    assert not one_seed.decided  # one seed gives no spread: the noise is unknown


def test_quantities_that_are_not_rates_need_several_seeds():
    assert not claims.compare_seeds([100], [300]).decided
    steps = claims.compare_seeds([300, 320, 310], [100, 110, 105], unit="steps")
    assert steps.supports and steps.value == pytest.approx(205)


@pytest.mark.parametrize("claimed, other, verdict", [
    (0.70, 0.50, claims.HOLDS), (0.50, 0.70, claims.NOT_REPRODUCED), (0.51, 0.50, claims.INCONCLUSIVE)])
def test_an_experiment_gives_each_verdict_from_made_up_measurements(claimed, other, verdict):
    check = claims.ClaimCheck()
    check.experiment("R-2", "made up", claims.compare(claimed, other, n=1000))
    row = check.rows[-1]
    assert row.verdict == verdict and row.kind == claims.EXPERIMENT


def test_an_experiment_with_several_differences_needs_all_of_them():
    check = claims.ClaimCheck()
    clear, noise, against = (claims.compare(0.7, 0.5, 1000), claims.compare(0.51, 0.5, 1000),
                             claims.compare(0.5, 0.7, 1000))
    check.experiment("S-1", "", [clear, clear])
    assert check.rows[-1].verdict == claims.HOLDS
    check.experiment("S-1", "", [clear, noise])
    assert check.rows[-1].verdict == claims.INCONCLUSIVE
    check.experiment("S-1", "", [clear, against])
    assert check.rows[-1].verdict == claims.NOT_REPRODUCED
    check.experiment("S-1", "", [clear, against], correction="the right figure")
    corrected = check.rows[-1]
    assert corrected.verdict == claims.CORRECTED and "the right figure" in corrected.verdict_text


def test_a_precondition_that_fails_makes_the_experiment_inconclusive_and_says_why():
    check = claims.ClaimCheck()
    check.experiment("A-6", "", claims.compare(0.7, 0.5, 1000), given=(False, "no variant overfits yet"))
    row = check.rows[-1]
    assert row.verdict == claims.INCONCLUSIVE and "no variant overfits yet" in row.verdict_text


def test_demonstrations_are_labelled_as_shown_never_as_measured():
    check = claims.ClaimCheck()
    check.demonstration("V-3", "two 3x3 see 5x5", holds=True)
    shown = check.rows[-1]
    check.demonstration("V-4", "25/18 = 1.39x", holds=False, correction="1.39x, not 1.5x")
    corrected = check.rows[-1]
    assert shown.verdict == claims.SHOWN and shown.kind == claims.DEMONSTRATION
    assert corrected.verdict == claims.CORRECTED and "1.39x" in corrected.verdict_text
    text = str(check)
    assert "shown by construction" in text and "measured:" not in text.split("V-4")[0]


def test_the_table_shows_the_note_and_both_languages():
    check = claims.ClaimCheck("Claim check (test)")
    check.demonstration("R-1", "slope 1", holds=True)
    check.experiment("R-2", "loss", claims.compare(0.6, 0.5, 100), reference="resnet20: 91.0% (H100, 2026-12-01)")
    html = check._repr_html_()
    assert "학습에 용이함" in html and "easy to train" in html
    assert "성립" in html or "판단 보류" in html
    assert "시연" in html and "H100" in html


def test_unknown_claim_ids_are_refused():
    with pytest.raises(KeyError, match="unknown claim"):
        claims.ClaimCheck().demonstration("X-9", "", holds=True)


def test_a_difference_of_two_gaps_adds_their_standard_errors_in_quadrature():
    wide_gap = claims.compare(0.95, 0.60, n=3000, n_other=1000)  # one model's train minus test accuracy
    small_gap = claims.compare(0.70, 0.65, n=3000, n_other=1000)
    change = wide_gap - small_gap
    assert change.value == pytest.approx(0.30)
    assert change.standard_error == pytest.approx(math.hypot(wide_gap.standard_error, small_gap.standard_error))
    with pytest.raises(ValueError, match="cannot subtract"):
        wide_gap - claims.compare_seeds([1, 2], [3, 4], unit="steps")


@pytest.mark.parametrize("dof, t", [(1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228), (30, 2.042), (1e9, 1.960)])
def test_students_t_at_97_5_percent_matches_the_tables(dof, t):
    assert claims.student_t(0.975, dof) == pytest.approx(t, abs=1e-3)


def test_a_spread_from_few_seeds_raises_the_threshold_by_students_t():
    # A-2's stored measurement: -44.7 steps with two standard errors of 33.5, from 3 seeds a side. With
    # equal spreads Welch-Satterthwaite gives 4 degrees of freedom: t = 2.78, a threshold near 47.
    tanh, relu = [300.0, 340.0, 322.4], [350.0, 390.0, 356.5]  # made up, with the stored mean and spread
    d = claims.compare_seeds(tanh, relu, unit="steps")
    assert d.value == pytest.approx(-44.7, abs=0.1)
    assert 2 * d.standard_error == pytest.approx(33.5, abs=0.5) and 3.5 < d.dof <= 4
    assert d.threshold == pytest.approx(d.t * d.standard_error) and 45 < d.threshold < 50
    assert not d.decided  # two standard errors (33.5) would have called it
    assert claims.compare(0.60, 0.50, n=1000).t == 2  # binomial noise alone: the course's two


def test_the_degrees_of_freedom_follow_welch_satterthwaite():
    equal = claims.compare_seeds([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert equal.dof == pytest.approx(4)
    lopsided = claims.compare_seeds([1.0, 2.0, 3.0], [4.0, 4.0, 4.0])  # only one side has spread
    assert lopsided.dof == pytest.approx(2)
    with_images = claims.compare(0.6, 0.5, n=1000, seeds=[0.58, 0.62, 0.60], seeds_other=[0.50, 0.52, 0.48])
    assert with_images.dof > 4  # the binomial terms are known exactly: they add degrees of freedom
    gap = claims.compare(0.9, 0.6, 1000) - equal.__class__(0.1, 0.02, "points", dof=4)
    assert 4 < gap.dof < math.inf


def test_a_measurement_against_the_claim_is_not_reproduced_even_when_a_precondition_failed():
    # A-6 with a regime that does not overfit: removing dropout raised test accuracy by 14 points,
    # well beyond the noise. That is a measurement against the claim in this setting, not noise.
    check = claims.ClaimCheck()
    against = claims.compare(0.50, 0.64, n=1000)
    check.experiment("A-6", "made up", against, given=(False, "the variant without dropout does not overfit"))
    row = check.rows[-1]
    assert row.verdict == claims.NOT_REPRODUCED and "does not overfit" in row.verdict_text
    check.experiment("A-6", "", claims.compare(0.64, 0.50, 1000), given=(False, "no overfitting"))
    supporting = check.rows[-1]
    assert supporting.verdict == claims.INCONCLUSIVE


def test_a_spread_measured_once_lets_one_seed_decide_with_its_degrees_of_freedom():
    # S-1's design: plain-56's seed sd (1.8 points over 5 seeds) is 2.3x its binomial SE, so one seed
    # decides only with that spread added, at Welch's degrees of freedom from the 5 seeds.
    spread_56 = claims.Spread.of([0.746, 0.785, 0.779, 0.751, 0.752])
    spread_20 = claims.Spread.of([0.591, 0.584, 0.603, 0.599, 0.601])
    alone = claims.compare(0.746, 0.591, 3000)
    with_spread = claims.compare(0.746, 0.591, 3000, spread=spread_56, spread_other=spread_20)
    assert with_spread.standard_error > alone.standard_error and math.isfinite(with_spread.dof)
    assert with_spread.standard_error == pytest.approx(math.sqrt(alone.standard_error ** 2 + spread_56.sd ** 2
                                                                 + spread_20.sd ** 2))
    assert with_spread.supports and with_spread.t > 2
    with pytest.raises(ValueError, match="two seeds"):
        claims.Spread.of([0.5])


def test_a_rate_against_a_fixed_level_counts_only_the_measured_sides_noise():
    below = claims.compare_to(0.9, 0.8, 1000)
    assert below.value == pytest.approx(0.1)
    assert below.standard_error == pytest.approx((0.8 * 0.2 / 1000) ** 0.5)
    spread = claims.Spread(0.02, 5)
    assert claims.compare_to(0.9, 0.8, 1000, spread=spread).dof < float("inf")


def test_rows_are_shown_in_the_order_of_the_notes_and_a_missing_run_is_named():
    check = claims.ClaimCheck()
    check.demonstration("S-4", "shown", holds=True)
    assert not check.needs("S-1", {"plain20": None}, ("plain20", "plain56"))
    assert check.needs("S-2", {"plain56": None, "resnet56": None}, ("plain56", "resnet56"))
    assert [row.claim_id for row in check.ordered()] == ["S-1", "S-4"]
    assert "plain56 did not train" in check.rows[-1].measured
    assert str(check).index("S-1") < str(check).index("S-4")


def test_a_shipped_spread_lets_one_seed_of_a_count_decide():
    assert not claims.compare_seeds([30], [45], unit="epochs").decided  # one seed each: noise unknown
    spread = claims.Spread(2.0, 5)
    decided = claims.compare_seeds([45], [30], unit="epochs", spread=spread, spread_other=spread)
    assert decided.standard_error == pytest.approx((2 * 2.0 ** 2) ** 0.5) and decided.supports
    assert decided.dof == pytest.approx(8)
