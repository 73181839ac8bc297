"""Satisfaction = positive / (positive + negative), always with its sample size and a 95% Wilson interval.

Wilson rather than the textbook p ± z·sqrt(p(1-p)/n): that one collapses to [1, 1] for 3 positive votes
out of 3 and leaves [0, 1] at the edges; Wilson stays inside [0, 1] and stays wide while votes are few.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The two-sided 95% standard normal quantile, Phi^-1(0.975) (statistics.NormalDist().inv_cdf(0.975)); tables round
# it to 1.96. Unrounded, so intervals agree with statistical packages to every printed digit.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(positive: int, total: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of a proportion; None when there are no votes to estimate from."""
    if positive < 0 or total < 0 or positive > total:
        raise ValueError(f"need 0 <= positive <= total, got positive={positive}, total={total}")
    if total == 0:
        return None
    p = positive / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    # At p = 0 and p = 1 the bound is exactly 0 or 1; floating point would leave 1e-16 of noise.
    low = 0.0 if positive == 0 else max(0.0, centre - half_width)
    high = 1.0 if positive == total else min(1.0, centre + half_width)
    return Interval(low=low, high=high)


@dataclass
class VoteTally:
    """Current votes (one per run and user) of some slice: an agent version, a day, a whole window."""

    positive: int = 0
    negative: int = 0

    def add(self, outcome: str) -> None:
        if outcome == "positive":
            self.positive += 1
        elif outcome == "negative":
            self.negative += 1
        else:
            raise ValueError(f"unknown outcome {outcome!r}")

    @property
    def total(self) -> int:
        return self.positive + self.negative

    @property
    def satisfaction(self) -> float | None:
        return self.positive / self.total if self.total else None

    @property
    def interval(self) -> Interval | None:
        return wilson_interval(self.positive, self.total)
