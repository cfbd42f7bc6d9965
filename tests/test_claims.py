import pytest

from cnnlib.claims import INCONCLUSIVE, ClaimCheck, verdict


def test_verdict_follows_the_measurement():
    assert verdict(True) == "holds"
    assert verdict(False) == "does not hold"
    assert verdict(False, correction="1.39x") == "corrected: 1.39x"
    assert verdict(True, conclusive=False) == INCONCLUSIVE
    assert verdict(False, conclusive=False, correction="x") == INCONCLUSIVE


def test_claim_check_rows_and_html():
    check = ClaimCheck("test")
    ratio = 25 / 18
    check.add("V-4", f"ratio {ratio:.2f}", holds=abs(ratio - 1.5) < 0.05, correction=f"{ratio:.2f}x")
    check.add("V-3", "field 5", holds=True)
    assert check.verdicts() == {"V-4": "corrected: 1.39x", "V-3": "holds"}
    assert "ratio 1.39" in check._repr_html_()
    assert "V-3" in str(check)


def test_unknown_claim_is_refused():
    with pytest.raises(KeyError, match="unknown claim"):
        ClaimCheck().add("X-9", "1", holds=True)
