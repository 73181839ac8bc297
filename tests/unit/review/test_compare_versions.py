"""GET .../versions/compare: which votes count, how versions are named, the verdict in words, and refusals."""

from __future__ import annotations

import pytest

from agentfeedback.review.comparison import compare_tallies
from agentfeedback.review.satisfaction import VoteTally
from tests.helpers import load_event
from tests.unit.review.compare_helpers import compare, save_version, vote, votes


def tally(positive: int, total: int) -> VoteTally:
    return VoteTally(positive=positive, negative=total - positive)


# --- the verdict ----------------------------------------------------------------------------------------------


def test_verdict_candidate_better_names_rates_interval_and_test():
    result = compare_tallies(tally(30, 50), tally(42, 50))
    assert result.decision == "candidate_better"
    assert result.verdict == (
        "candidate better: 84.0% vs 60.0% satisfied, +24.0 points (95% interval +6.4 to +39.8; "
        "p = 0.008, two-proportion z-test)"
    )


def test_verdict_candidate_worse_with_small_counts_uses_the_exact_test():
    result = compare_tallies(tally(9, 10), tally(3, 10))
    assert result.decision == "candidate_worse"
    assert result.verdict.startswith("candidate worse: 30.0% vs 90.0% satisfied, -60.0 points")
    assert result.verdict.endswith("p = 0.020, Fisher's exact test)")


def test_verdict_no_difference_yet_says_how_many_more_votes_each():
    # 6,039 votes per version detect 80% vs 82% with 80% power (test_proportions); each side has 50.
    result = compare_tallies(tally(40, 50), tally(41, 50))
    assert result.decision == "no_detectable_difference"
    assert (result.votes_needed_per_version, result.more_votes_needed) == (6039, 5989)
    assert result.verdict.startswith("no detectable difference yet: about 5989 more votes each (")


def test_verdict_counts_more_votes_from_the_version_with_fewer():
    result = compare_tallies(tally(8, 10), tally(28, 28))
    assert result.votes_needed_per_version is not None
    assert result.more_votes_needed == result.votes_needed_per_version - 10


def test_verdict_names_the_version_that_needs_more_votes():
    # 388 votes each tell 50% from 60% (80% power): a base of 500 has enough, a candidate of 100 needs 288 more.
    candidate_short = compare_tallies(tally(250, 500), tally(60, 100))
    assert (candidate_short.votes_needed_per_version, candidate_short.more_votes_needed) == (388, 288)
    assert candidate_short.verdict.startswith("no detectable difference yet: about 288 more votes for the candidate (")
    base_short = compare_tallies(tally(60, 100), tally(250, 500))
    assert base_short.verdict.startswith("no detectable difference yet: about 288 more votes for the base (")
    both = compare_tallies(tally(40, 50), tally(33, 40))
    assert both.more_votes_needed == 3786
    assert both.verdict.startswith("no detectable difference yet: about 3776 more votes for the base and 3786 for")


def test_verdict_when_both_rates_are_equal_or_a_side_has_no_votes():
    same = compare_tallies(tally(4, 5), tally(8, 10))
    assert same.decision == "no_detectable_difference" and same.votes_needed_per_version is None
    assert same.verdict.startswith("no detectable difference yet: both 80.0% satisfied")
    empty = compare_tallies(tally(3, 4), tally(0, 0))
    assert (empty.decision, empty.difference, empty.test) == ("not_enough_votes", None, None)
    assert empty.verdict == "not enough votes yet: the candidate version has no votes in this window"
    assert compare_tallies(tally(0, 0), tally(0, 0)).verdict == (
        "not enough votes yet: neither version has votes in this window"
    )


def test_verdict_enough_votes_but_not_significant_says_within_chance():
    # 3/3 vs 0/3: the normal approximation says 2 votes each detect 100% vs 0% (std under the alternative is 0),
    # yet Fisher's exact test gives p = 2 / comb(6, 3) = 0.1: the counts are met, the difference is not shown.
    result = compare_tallies(tally(3, 3), tally(0, 3))
    assert result.votes_needed_per_version == 2 and result.more_votes_needed == 0
    assert result.test is not None and result.test.p_value == pytest.approx(0.1)
    assert result.verdict == (
        "no detectable difference: 0.0% vs 100.0% satisfied, -100.0 points is within chance "
        "(p = 0.100, Fisher's exact test)"
    )


# --- the route ------------------------------------------------------------------------------------------------


def test_compare_counts_current_votes_of_each_version_in_the_window(aws, invoke):
    first, second = save_version("Answer."), save_version("Answer kindly.")
    run = "0190a000-0000-7000-8000-000000000001"
    vote(first.id, "negative", run_id=run, user_id="ana")
    vote(first.id, "positive", run_id=run, user_id="ana")  # a change of mind: one current vote, positive
    vote(first.id, "negative", run_id=run, user_id="bo")
    votes(second.id, 3, 3)
    vote("0" * 32, "negative")  # another version: not counted
    vote(first.id, "negative", agent="billing-bot")  # another agent
    vote(first.id, "negative", tenant="globex")  # another tenant
    status, _, body = compare(invoke, "1", "2")
    assert status == 200, body
    assert body["base"] == {
        "version": 1,
        "version_id": first.id,
        "positive": 1,
        "negative": 1,
        "total": 2,
        "satisfaction": 0.5,
        "interval": {"low": 0.0945, "high": 0.9055},
    }
    assert (body["candidate"]["version"], body["candidate"]["positive"], body["candidate"]["total"]) == (2, 3, 3)
    assert body["decision"] == "no_detectable_difference" and body["power"] == 0.8
    assert body["significance"]["test"] == "fisher_exact" and body["significance"]["alpha"] == 0.05
    assert body["since"] < body["until"]


def test_versions_are_named_by_number_or_id_and_unsaved_ids_are_compared_too(aws, invoke):
    first, second = save_version("Answer."), save_version("Answer kindly.")
    inline = "ab" * 16  # a version used inline by runs, never saved
    votes(first.id, 2, 3)
    votes(inline, 1, 2)
    status, _, body = compare(invoke, first.id, inline)
    assert status == 200, body
    assert (body["base"]["version"], body["base"]["total"]) == (1, 3)
    assert (body["candidate"]["version"], body["candidate"]["version_id"], body["candidate"]["total"]) == (
        None,
        inline,
        2,
    )
    status, _, body = compare(invoke, "1", second.id)
    assert status == 200 and body["candidate"]["version"] == 2
    assert body["decision"] == "not_enough_votes" and body["difference"] is None and body["significance"] is None


def test_window_bounds_the_votes(aws, invoke):
    first, _ = save_version("Answer."), save_version("Answer kindly.")
    votes(first.id, 1, 1)
    status, _, body = compare(invoke, "1", "2", since="2020-01-01", until="2020-02-01")
    assert status == 200, body
    assert body["base"]["total"] == 0 and body["since"].startswith("2020-01-01")


@pytest.mark.parametrize(
    ("base", "candidate", "status", "mentions"),
    [
        ("1", "1", 422, "same version"),
        ("1", "9", 404, "no saved version 9"),
        ("one", "2", 422, "base"),
        ("1", "xyz", 422, "candidate"),
        ("1", "ABABABABABABABABABABABABABABABAB", 422, "candidate"),
        ("0", "2", 422, "base: saved version numbers start at 1"),
        ("1", "-1", 422, "candidate"),
    ],
)
def test_bad_version_names_are_clear_4xx(aws, invoke, base, candidate, status, mentions):
    save_version("Answer."), save_version("Answer kindly.")
    got, _, body = compare(invoke, base, candidate)
    assert got == status, body
    assert mentions in body["error"]["message"]


def test_same_version_by_number_and_id_is_refused(aws, invoke):
    first = save_version("Answer.")
    status, _, body = compare(invoke, "1", first.id)
    assert status == 422 and "same version" in body["error"]["message"]


def test_missing_parameters_window_and_tenant_are_refused(aws, invoke):
    save_version("Answer."), save_version("Answer kindly.")
    status, _, body = compare(invoke, "1", "2", since="2026-01-01", until="2027-06-01")
    assert status == 422 and "366 days" in body["error"]["message"]
    status, _, body = compare(invoke, "1", "2", since="1999-12-31", until="2000-01-02")
    assert status == 422 and "since: '1999-12-31' is out of range" in body["error"]["message"], body
    status, _, body = compare(invoke, "1", "2", since="2026-13-01")
    assert status == 422 and "since: expected an ISO 8601" in body["error"]["message"], body
    status, _, body = invoke("review", load_event("review/compare_versions.json", query={"base": "1"}))
    assert status == 422 and "candidate" in body["error"]["message"]
    # Another tenant's versions do not exist for this caller.
    assert compare(invoke, "1", "2", tenant="globex")[0] == 404
