"""Compare's figures, read from the review function's answer, against scipy and statsmodels (dev-only oracles).

Each fixture is a pair of (positive votes, votes) for the base and the candidate version. Every figure the route
returns must agree with the oracle to 4 decimals (|ours - oracle| < 5e-5): satisfaction and Wilson interval of
each version, the difference and its Newcombe interval, the p-value of the test the route says it used (and z),
and the votes each version needs for 80% power.
"""

from __future__ import annotations

import math

import pytest
from scipy.stats import fisher_exact
from scipy.stats.contingency import expected_freq
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

from tests.unit.review.compare_helpers import compare, save_version, votes

FIXTURES = [
    pytest.param((3, 10), (9, 10), id="small-counts-fisher"),
    pytest.param((2, 7), (6, 7), id="seven-each-fisher"),
    pytest.param((0, 29), (5, 56), id="zero-cell-fisher"),
    pytest.param((0, 20), (0, 10), id="no-positive-vote-at-all"),
    pytest.param((10, 10), (0, 20), id="all-or-nothing"),
    pytest.param((48, 80), (56, 70), id="newcombe-example-z-test"),
    pytest.param((30, 50), (42, 50), id="z-test-significant"),
    pytest.param((40, 50), (41, 50), id="z-test-no-difference-yet"),
]


def close(ours: float | None, oracle: float) -> bool:
    return ours is not None and abs(ours - float(oracle)) < 5e-5


@pytest.mark.parametrize(("base", "candidate"), FIXTURES)
def test_compare_matches_scipy_and_statsmodels(aws, invoke, base, candidate):
    first, second = save_version("Answer briefly."), save_version("Answer briefly and cite the order number.")
    votes(first.id, *base)
    votes(second.id, *candidate)
    status, _, body = compare(invoke, "1", "2")
    assert status == 200, body

    for side, (positive, total) in (("base", base), ("candidate", candidate)):
        figures = body[side]
        assert (figures["positive"], figures["total"]) == (positive, total)
        low, high = proportion_confint(positive, total, alpha=0.05, method="wilson")
        assert close(figures["satisfaction"], positive / total)
        assert close(figures["interval"]["low"], low) and close(figures["interval"]["high"], high)

    (x1, n1), (x2, n2) = base, candidate
    difference = x2 / n2 - x1 / n1
    low, high = confint_proportions_2indep(x2, n2, x1, n1, method="newcomb", compare="diff", alpha=0.05)
    assert close(body["difference"]["estimate"], difference)
    assert close(body["difference"]["interval"]["low"], low) and close(body["difference"]["interval"]["high"], high)

    table = [[x1, n1 - x1], [x2, n2 - x2]]
    significance = body["significance"]
    if expected_freq(table).min() < 5:
        assert significance["test"] == "fisher_exact" and significance["z"] is None
        assert close(significance["p_value"], fisher_exact(table, alternative="two-sided").pvalue)
    else:
        assert significance["test"] == "two_proportion_z"
        z, p_value = proportions_ztest([x2, x1], [n2, n1])  # pooled variance under the null (the default)
        assert close(significance["z"], z) and close(significance["p_value"], p_value)

    if difference == 0:
        assert body["votes_needed_per_version"] is None
    else:
        needed = samplesize_proportions_2indep_onetail(difference, x1 / n1, power=0.8, alpha=0.05)
        assert body["votes_needed_per_version"] == math.ceil(needed)
        assert body["more_votes_needed"] == max(math.ceil(needed) - min(n1, n2), 0)
