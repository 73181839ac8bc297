"""Satisfaction and its 95% Wilson interval, against figures worked out by hand.

Wilson, z = 1.96 (z² = 3.8416), n votes, p = positive / n:
    centre = (p + z²/2n) / (1 + z²/n)
    half   = z · sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)
"""

from __future__ import annotations

import pytest

from agentfeedback.review.satisfaction import VoteTally, wilson_interval


def approx(value: float) -> object:
    return pytest.approx(value, abs=5e-5)


def test_eight_positive_two_negative():
    # n = 10, p = 0.8; 1 + z²/n = 1.38416
    # centre = (0.8 + 0.19208) / 1.38416 = 0.99208 / 1.38416 = 0.716738
    # half   = 1.96 · sqrt(0.016 + 0.009604) / 1.38416 = 1.96 · 0.160012 / 1.38416 = 0.226581
    # -> [0.490157, 0.943319]
    interval = wilson_interval(8, 10)
    assert interval is not None
    assert (interval.low, interval.high) == (approx(0.4902), approx(0.9433))


def test_three_of_three_is_far_from_certain():
    # n = 3, p = 1; 1 + z²/n = 2.280533; centre = (1 + 0.640267) / 2.280533 = 0.719246
    # half = 1.96 · sqrt(0 + 3.8416/36) / 2.280533 = 1.96 · 0.326666 / 2.280533 = 0.280754
    # -> [0.438492, 1.0]: the naive interval would claim [1, 1]
    interval = wilson_interval(3, 3)
    assert interval is not None
    assert (interval.low, interval.high) == (approx(0.4385), 1.0)


def test_no_positive_votes_starts_at_zero():
    # n = 5, p = 0; 1 + z²/n = 1.76832; centre = 0.38416 / 1.76832 = 0.217246
    # half = 1.96 · sqrt(3.8416/100) / 1.76832 = 0.38416 / 1.76832 = 0.217246 -> [0, 0.434492]
    interval = wilson_interval(0, 5)
    assert interval is not None
    assert (interval.low, interval.high) == (0.0, approx(0.4345))


def test_even_split_is_symmetric_and_narrows_with_more_votes():
    # n = 100, p = 0.5; 1 + z²/n = 1.038416; centre = 0.519208 / 1.038416 = 0.5
    # half = 1.96 · sqrt(0.0025 + 0.000096) / 1.038416 = 1.96 · 0.050951 / 1.038416 = 0.096170
    interval = wilson_interval(50, 100)
    assert interval is not None
    assert (interval.low, interval.high) == (approx(0.4038), approx(0.5962))
    small = wilson_interval(5, 10)
    assert small is not None and small.high - small.low > interval.high - interval.low


def test_six_of_ten():
    # n = 10, p = 0.6; centre = 0.79208 / 1.38416 = 0.572246
    # half = 1.96 · sqrt(0.024 + 0.009604) / 1.38416 = 1.96 · 0.183314 / 1.38416 = 0.259577 -> [0.312669, 0.831823]
    interval = wilson_interval(6, 10)
    assert interval is not None
    assert (interval.low, interval.high) == (approx(0.3127), approx(0.8318))


def test_no_votes_means_no_figure():
    assert wilson_interval(0, 0) is None
    tally = VoteTally()
    assert (tally.total, tally.satisfaction, tally.interval) == (0, None, None)


@pytest.mark.parametrize(("positive", "total"), [(-1, 3), (4, 3), (0, -1)])
def test_impossible_counts_are_refused(positive, total):
    with pytest.raises(ValueError, match="positive"):
        wilson_interval(positive, total)


def test_interval_always_contains_the_rate_and_stays_in_bounds():
    for total in range(1, 40):
        for positive in range(total + 1):
            interval = wilson_interval(positive, total)
            assert interval is not None
            assert 0.0 <= interval.low <= positive / total <= interval.high <= 1.0


def test_tally_counts_outcomes():
    tally = VoteTally()
    for outcome in ["positive"] * 8 + ["negative"] * 2:
        tally.add(outcome)
    assert (tally.positive, tally.negative, tally.total, tally.satisfaction) == (8, 2, 10, 0.8)
    assert tally.interval == wilson_interval(8, 10)
    with pytest.raises(ValueError, match="meh"):
        tally.add("meh")
