"""Two proportions compared: the interval of their difference, a two-sided p-value, the sample size to detect it.

Used to compare two agent versions' satisfaction (positive / votes). Everything is two-sided at the 5% level
(95% intervals) and, for sample sizes, 80% power. Standard library only (math): no cold-start cost.

Sources:
- Wilson (1927), "Probable inference, the law of succession, and statistical inference", JASA 22:209-212: the
  score interval of one proportion (`review.satisfaction.wilson_interval`).
- Newcombe (1998), "Interval estimation for the difference between independent proportions: comparison of
  eleven methods", Statistics in Medicine 17:873-890, method 10: the hybrid score interval of p2 - p1, built from
  each side's Wilson interval without continuity correction.
- Fisher's exact test, two-sided: the probability, under the hypergeometric distribution of tables with the
  observed margins, of every table no more probable than the observed one (Agresti, "Categorical Data Analysis",
  3rd ed., 2013, section 3.5; the rule R's fisher.test and scipy.stats.fisher_exact follow).
- Pooled two-proportion z-test: z = (p2 - p1) / sqrt(p(1-p)(1/n1 + 1/n2)), p the pooled proportion; the same
  test as Pearson's chi-square on the 2x2 table without continuity correction (Agresti 2013, section 3.2).
- Sample size per group for a two-sided test of two proportions, equal groups, without continuity correction:
  n = (z_a/2 * sqrt(2 pbar qbar) + z_b * sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2, pbar = (p1 + p2) / 2
  (Fleiss, Levin and Paik, "Statistical Methods for Rates and Proportions", 3rd ed., 2003, chapter 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agentfeedback.review.satisfaction import Z_95, Interval, wilson_interval

ALPHA = 0.05
POWER = 0.8
# z_b for 80% power: the standard normal quantile at 0.8 (statistics.NormalDist().inv_cdf(0.8)).
Z_POWER_80 = 0.8416212335729143
# Cochran (1954), "Some methods for strengthening the common chi-square tests", Biometrics 10:417-451: the normal
# approximation is trusted when every expected cell count of the 2x2 table is at least 5; below that, Fisher's test.
MIN_EXPECTED_COUNT = 5.0

FISHER_EXACT = "fisher_exact"
TWO_PROPORTION_Z = "two_proportion_z"


def _check(successes: int, total: int) -> None:
    if successes < 0 or total < 0 or successes > total:
        raise ValueError(f"need 0 <= successes <= total, got successes={successes}, total={total}")


def newcombe_interval(successes1: int, total1: int, successes2: int, total2: int) -> Interval | None:
    """95% interval of p2 - p1 (Newcombe 1998, method 10); None when either side has no trials.

    L = d - sqrt((p2 - l2)^2 + (u1 - p1)^2), U = d + sqrt((u2 - p2)^2 + (p1 - l1)^2), with d = p2 - p1 and
    [l, u] each side's Wilson interval. Always within [-1, 1]. ValueError for impossible counts.
    """
    _check(successes1, total1)
    _check(successes2, total2)
    first, second = wilson_interval(successes1, total1), wilson_interval(successes2, total2)
    if first is None or second is None:
        return None
    p1, p2 = successes1 / total1, successes2 / total2
    difference = p2 - p1
    low = difference - math.hypot(p2 - second.low, first.high - p1)
    high = difference + math.hypot(second.high - p2, p1 - first.low)
    return Interval(low=max(-1.0, low), high=min(1.0, high))


def fisher_exact_p_value(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table [[a, b], [c, d]] (counts >= 0).

    Sums the hypergeometric probabilities of every table with the same margins that is at most as probable as
    the observed one. Computed with exact integers (math.comb), so ties between equally probable tables are
    decided exactly, with no floating-point tolerance. 1.0 when a margin is zero. ValueError for a negative count.
    """
    if min(a, b, c, d) < 0:
        raise ValueError(f"counts must be >= 0, got {(a, b, c, d)}")
    row1, row2, column1 = a + b, c + d, a + c
    lowest, highest = max(0, column1 - row2), min(row1, column1)

    def weight(x: int) -> int:
        # P(top-left = x) = comb(row1, x) comb(row2, column1 - x) / comb(row1 + row2, column1)
        return math.comb(row1, x) * math.comb(row2, column1 - x)

    observed = weight(a)
    as_extreme = sum(w for w in map(weight, range(lowest, highest + 1)) if w <= observed)
    return min(1.0, as_extreme / math.comb(row1 + row2, column1))


def two_proportion_z_test(successes1: int, total1: int, successes2: int, total2: int) -> tuple[float, float]:
    """(z, two-sided p-value) of the pooled two-proportion z-test of p2 - p1.

    z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)), p = (x1 + x2) / (n1 + n2); p-value = erfc(|z| / sqrt 2).
    When every vote agrees (p is 0 or 1) there is no difference to test: (0.0, 1.0). ValueError when a side has no
    trials or for impossible counts.
    """
    _check(successes1, total1)
    _check(successes2, total2)
    if total1 == 0 or total2 == 0:
        raise ValueError("each side needs at least one trial")
    pooled = (successes1 + successes2) / (total1 + total2)
    variance = pooled * (1 - pooled) * (1 / total1 + 1 / total2)
    if variance == 0:
        return 0.0, 1.0
    z = (successes2 / total2 - successes1 / total1) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def needs_exact_test(successes1: int, total1: int, successes2: int, total2: int) -> bool:
    """Whether an expected count of the 2x2 table (versions x outcomes) is below MIN_EXPECTED_COUNT (Cochran)."""
    total = total1 + total2
    if total == 0:
        return True
    successes = successes1 + successes2
    columns = (successes, total - successes)
    return any(row * column / total < MIN_EXPECTED_COUNT for row in (total1, total2) for column in columns)


def sample_size_per_group(p1: float, p2: float, z_alpha: float = Z_95, z_power: float = Z_POWER_80) -> float | None:
    """Trials each group needs for a two-sided test at 5% to detect p1 vs p2 with 80% power (Fleiss et al. 2003).

    Not rounded (round up for a count of trials). None when p1 == p2: no sample is large enough to detect a
    difference of zero. ValueError for a proportion outside [0, 1].
    """
    if not (0 <= p1 <= 1 and 0 <= p2 <= 1):
        raise ValueError(f"proportions must be within [0, 1], got {p1}, {p2}")
    if p1 == p2:
        return None
    mean = (p1 + p2) / 2
    spread = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return (spread / (p2 - p1)) ** 2


@dataclass(frozen=True)
class Significance:
    name: str  # FISHER_EXACT or TWO_PROPORTION_Z
    p_value: float
    z: float | None  # the z statistic, for the z-test only


def significance_test(successes1: int, total1: int, successes2: int, total2: int) -> Significance:
    """Fisher's exact test when an expected count is below 5 (needs_exact_test), the pooled z-test otherwise.

    ValueError when a side has no trials.
    """
    if total1 == 0 or total2 == 0:
        raise ValueError("each side needs at least one trial")
    if needs_exact_test(successes1, total1, successes2, total2):
        p_value = fisher_exact_p_value(successes1, total1 - successes1, successes2, total2 - successes2)
        return Significance(name=FISHER_EXACT, p_value=p_value, z=None)
    z, p_value = two_proportion_z_test(successes1, total1, successes2, total2)
    return Significance(name=TWO_PROPORTION_Z, p_value=p_value, z=z)
