"""Two versions' current votes compared: difference, its interval, p-value, votes needed, and a verdict in words.

The figures come from `review.proportions` (sources there). The verdict reads the p-value at the 5% level:

- `candidate_better` / `candidate_worse`: p < 0.05, in the direction of the observed difference;
- `no_detectable_difference`: p >= 0.05 (with how many more votes each version would need for the observed
  difference to be detected 80% of the time, if it is real);
- `not_enough_votes`: a version has no votes in the window, so there is nothing to compare.

Looking again and again as votes arrive, and stopping at the first p < 0.05, finds differences that are not
there far more often than 5% of the time: decide the number of votes first (`votes_needed_per_version`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agentfeedback.review.proportions import (
    ALPHA,
    FISHER_EXACT,
    Significance,
    newcombe_interval,
    sample_size_per_group,
    significance_test,
)
from agentfeedback.review.satisfaction import Interval, VoteTally

CANDIDATE_BETTER = "candidate_better"
CANDIDATE_WORSE = "candidate_worse"
NO_DETECTABLE_DIFFERENCE = "no_detectable_difference"
NOT_ENOUGH_VOTES = "not_enough_votes"

_TEST_NAMES = {FISHER_EXACT: "Fisher's exact test"}


@dataclass(frozen=True)
class Comparison:
    """Candidate versus base. `difference` is candidate satisfaction minus base satisfaction (-1 to 1)."""

    base: VoteTally
    candidate: VoteTally
    difference: float | None
    difference_interval: Interval | None  # 95%, Newcombe's hybrid score interval
    test: Significance | None
    votes_needed_per_version: int | None  # for 80% power at the observed difference; None if there is none
    more_votes_needed: int | None  # votes_needed_per_version minus the smaller version's votes, at least 0
    decision: str
    verdict: str


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def _p_text(test: Significance) -> str:
    name = _TEST_NAMES.get(test.name, "two-proportion z-test")
    shown = "p < 0.001" if test.p_value < 0.001 else f"p = {test.p_value:.3f}"
    return f"{shown}, {name}"


def _shortfall(votes_needed: int, base_votes: int, candidate_votes: int) -> str:
    """How many more votes which version needs, e.g. "about 40 more votes for the base"."""
    short = {name: votes_needed - votes for name, votes in (("base", base_votes), ("candidate", candidate_votes))}
    if short["base"] > 0 and short["candidate"] > 0:
        if short["base"] == short["candidate"]:
            return f"about {short['base']} more votes each"
        return f"about {short['base']} more votes for the base and {short['candidate']} for the candidate"
    name = "base" if short["base"] > 0 else "candidate"
    return f"about {short[name]} more votes for the {name}"


def compare_tallies(base: VoteTally, candidate: VoteTally) -> Comparison:
    """Compare the candidate's satisfaction with the base's; see the module docstring for the decision rule."""
    if base.total == 0 or candidate.total == 0:
        missing = [name for name, tally in (("base", base), ("candidate", candidate)) if tally.total == 0]
        subject = "neither version has" if len(missing) == 2 else f"the {missing[0]} version has no"
        verdict = f"not enough votes yet: {subject} votes in this window"
        return Comparison(base, candidate, None, None, None, None, None, NOT_ENOUGH_VOTES, verdict)
    p_base, p_candidate = base.positive / base.total, candidate.positive / candidate.total
    difference = p_candidate - p_base
    interval = newcombe_interval(base.positive, base.total, candidate.positive, candidate.total)
    test = significance_test(base.positive, base.total, candidate.positive, candidate.total)
    needed = sample_size_per_group(p_base, p_candidate)
    votes_needed = math.ceil(needed) if needed is not None else None
    more = max(votes_needed - min(base.total, candidate.total), 0) if votes_needed is not None else None
    assert interval is not None  # both sides have votes
    rates = f"{_percent(p_candidate)} vs {_percent(p_base)} satisfied"
    if test.p_value < ALPHA:
        decision = CANDIDATE_BETTER if difference > 0 else CANDIDATE_WORSE
        span = f"{_points(interval.low)} to {_points(interval.high)}"
        verdict = (
            f"candidate {'better' if difference > 0 else 'worse'}: {rates}, {_points(difference)} points "
            f"(95% interval {span}; {_p_text(test)})"
        )
    elif more is None:
        decision = NO_DETECTABLE_DIFFERENCE
        verdict = f"no detectable difference yet: both {_percent(p_base)} satisfied ({_p_text(test)})"
    elif more > 0:
        assert votes_needed is not None
        decision = NO_DETECTABLE_DIFFERENCE
        verdict = (
            f"no detectable difference yet: {_shortfall(votes_needed, base.total, candidate.total)} "
            f"({rates}, {_points(difference)} points; {_p_text(test)})"
        )
    else:
        # Enough votes by the normal approximation, yet the test (often the exact one, more cautious) is not
        # below 5%: the observed difference is within what chance gives at these counts.
        decision = NO_DETECTABLE_DIFFERENCE
        verdict = f"no detectable difference: {rates}, {_points(difference)} points is within chance ({_p_text(test)})"
    return Comparison(base, candidate, difference, interval, test, votes_needed, more, decision, verdict)
