"""Two-proportion statistics against figures worked out by hand or published with the method.

z = 1.959964 (the 97.5% normal quantile), z_b = 0.841621 (the 80% one).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from agentfeedback.review.proportions import (
    FISHER_EXACT,
    TWO_PROPORTION_Z,
    Z_POWER_80,
    fisher_exact_p_value,
    needs_exact_test,
    newcombe_interval,
    sample_size_per_group,
    significance_test,
    two_proportion_z_test,
)
from agentfeedback.review.satisfaction import Z_95


def approx(value: float) -> object:
    return pytest.approx(value, abs=5e-5)


def test_quantiles_are_the_standard_normal_ones():
    assert NormalDist().inv_cdf(0.975) == pytest.approx(Z_95, abs=1e-12)
    assert NormalDist().inv_cdf(0.8) == pytest.approx(Z_POWER_80, abs=1e-12)


# Newcombe (1998), Table II, method 10: p1 - p2 for the pairs (x1/n1, x2/n2). Our newcombe_interval(x2, n2, x1, n1)
# is the interval of p1 - p2 in the paper's notation.
NEWCOMBE_TABLE_II = [
    ((56, 70), (48, 80), (0.0524, 0.3339)),
    ((9, 10), (3, 10), (0.1705, 0.8090)),
    ((6, 7), (2, 7), (0.0582, 0.8062)),
    ((5, 56), (0, 29), (-0.0381, 0.1926)),
    ((0, 10), (0, 20), (-0.1611, 0.2775)),
    ((0, 10), (0, 10), (-0.2775, 0.2775)),
    ((10, 10), (0, 20), (0.6791, 1.0)),
    ((10, 10), (0, 10), (0.6075, 1.0)),
]


@pytest.mark.parametrize(("first", "second", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_matches_the_published_examples(first, second, expected):
    interval = newcombe_interval(second[0], second[1], first[0], first[1])
    assert interval is not None
    assert (interval.low, interval.high) == (approx(expected[0]), approx(expected[1]))


def test_newcombe_interval_worked_by_hand():
    # base 3/10, candidate 9/10: d = 0.6; z^2 = 3.841459, 1 + z^2/n = 1.384146.
    # Wilson 3/10: centre (0.3 + 0.192073) / 1.384146 = 0.355507, half 1.959964 * sqrt(0.021 + 0.009604) / 1.384146
    #   = 0.247715 -> [0.107791, 0.603222]. Wilson 9/10 is 1 minus Wilson 1/10 ([0.017876, 0.404150], worked the
    #   same way) -> [0.595850, 0.982124].
    # L = 0.6 - sqrt((0.9 - 0.595850)^2 + (0.603222 - 0.3)^2) = 0.6 - sqrt(0.092507 + 0.091943) = 0.170523
    # U = 0.6 + sqrt((0.982124 - 0.9)^2 + (0.3 - 0.107791)^2) = 0.6 + sqrt(0.006744 + 0.036944) = 0.809018
    interval = newcombe_interval(3, 10, 9, 10)
    assert interval is not None
    assert (interval.low, interval.high) == (approx(0.1705), approx(0.8090))


def test_newcombe_interval_needs_votes_on_both_sides_and_possible_counts():
    assert newcombe_interval(0, 0, 3, 4) is None
    assert newcombe_interval(3, 4, 0, 0) is None
    with pytest.raises(ValueError):
        newcombe_interval(5, 4, 1, 2)


def test_fisher_exact_tea_tasting():
    # Margins 4/4 and 4/4: weights comb(4, a) comb(4, 4 - a) for a = 0..4 are 1, 16, 36, 16, 1 (sum 70).
    # Observed a = 3 (weight 16); as or less probable: a = 0, 1, 3, 4 -> (1 + 16 + 16 + 1) / 70 = 0.485714
    assert fisher_exact_p_value(3, 1, 1, 3) == pytest.approx(34 / 70, rel=1e-12)


def test_fisher_exact_with_zero_cells():
    # [[0, 5], [5, 0]]: weights comb(5, a) comb(5, 5 - a) = 1, 25, 100, 100, 25, 1 (sum 252); a = 0 and a = 5
    # are the only tables as unlikely -> 2 / 252 = 0.0079365
    assert fisher_exact_p_value(0, 5, 5, 0) == pytest.approx(2 / 252, rel=1e-12)
    # A zero margin (nobody voted positive): one possible table, p = 1.
    assert fisher_exact_p_value(0, 20, 0, 10) == 1.0
    assert fisher_exact_p_value(0, 0, 0, 0) == 1.0
    with pytest.raises(ValueError):
        fisher_exact_p_value(-1, 2, 3, 4)


def test_fisher_exact_is_symmetric_in_rows_and_columns():
    assert fisher_exact_p_value(2, 7, 8, 2) == pytest.approx(fisher_exact_p_value(8, 2, 2, 7), rel=1e-12)
    assert fisher_exact_p_value(2, 7, 8, 2) == pytest.approx(fisher_exact_p_value(2, 8, 7, 2), rel=1e-12)


def test_z_test_worked_by_hand():
    # 60/100 vs 75/100: pooled 135/200 = 0.675; variance 0.675 * 0.325 * (1/100 + 1/100) = 0.0043875;
    # se 0.0662382; z = 0.15 / 0.0662382 = 2.264554; p = erfc(2.264554 / sqrt 2) = 0.023540
    z, p = two_proportion_z_test(60, 100, 75, 100)
    assert (z, p) == (approx(2.2646), approx(0.02354))
    assert two_proportion_z_test(75, 100, 60, 100)[0] == approx(-2.2646)


def test_z_test_when_every_vote_agrees_has_nothing_to_test():
    assert two_proportion_z_test(10, 10, 30, 30) == (0.0, 1.0)
    with pytest.raises(ValueError):
        two_proportion_z_test(0, 0, 3, 4)


def test_sample_size_worked_by_hand():
    # p1 0.6, p2 0.75: pbar 0.675; 1.959964 * sqrt(2 * 0.675 * 0.325) = 1.959964 * 0.662382 = 1.298245
    # 0.841621 * sqrt(0.6 * 0.4 + 0.75 * 0.25) = 0.841621 * 0.653835 = 0.550281
    # n = ((1.298245 + 0.550281) / 0.15)^2 = 12.323507^2 = 151.869 -> 152 votes per version
    assert sample_size_per_group(0.6, 0.75) == pytest.approx(151.869, abs=1e-3)
    assert sample_size_per_group(0.75, 0.6) == pytest.approx(151.869, abs=1e-3)
    assert math.ceil(sample_size_per_group(0.8, 0.82)) == 6039  # two points need thousands of votes


def test_sample_size_has_no_answer_for_no_difference_and_refuses_impossible_rates():
    assert sample_size_per_group(0.7, 0.7) is None
    with pytest.raises(ValueError):
        sample_size_per_group(-0.1, 0.5)


@pytest.mark.parametrize(
    ("counts", "exact"),
    [
        ((60, 100, 75, 100), False),  # expected negatives 32.5 each
        ((3, 10, 9, 10), True),  # expected 6 and 4 per row: 4 < 5
        ((8, 10, 10, 10), True),  # expected negatives 1 per row
        ((45, 50, 46, 50), True),  # expected negatives 4.5 per row
        ((40, 50, 41, 50), False),  # expected negatives 9.5 per row
    ],
)
def test_fisher_when_an_expected_count_is_below_five(counts, exact):
    assert needs_exact_test(*counts) is exact
    assert significance_test(*counts).name == (FISHER_EXACT if exact else TWO_PROPORTION_Z)
    assert (significance_test(*counts).z is None) is exact
