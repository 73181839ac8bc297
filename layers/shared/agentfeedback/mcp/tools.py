"""What each MCP tool answers, over any ReviewBackend: small outputs, paging, truncation that says how to get more.

An assistant reads every byte a tool returns, so outputs are trimmed: comments to COMMENT_CHARS, a run's input
and output to `max_chars`, a summary to its latest days and versions. Whatever is cut is said in a `note`, with
the argument that brings it back. Refusals raise ToolFailure with a message the assistant can act on; the
server turns it into a tool error (`isError: true`), never a protocol error or an HTTP 5xx.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentfeedback.mcp.backend import FeedbackQuery, ReviewBackend, ReviewRefused

COMMENT_CHARS = 500  # a comment beyond this is cut; get_run shows a run's comments up to its max_chars
RUN_FEEDBACK_ITEMS = 20  # entries of one run that get_run shows
SUMMARY_VERSIONS = 10  # versions a summary shows, most recently rated first
DEFAULT_SUMMARY_DAYS = 14
DEFAULT_RUN_CHARS = 2_000
MAX_RUN_CHARS = 20_000
SEARCH_PAGE = 100  # entries read per review-API page while searching comments (the API's largest page)
MAX_PAGES_PER_CALL = 5  # review-API pages one tool call reads; past that it answers with a cursor to go on
CURSOR_CHARS = 4_096


class ToolFailure(Exception):
    """A tool cannot answer; str() says why and what to do instead."""


def _refused(error: ReviewRefused) -> ToolFailure:
    return ToolFailure(str(error))


# -- paging through the review list ---------------------------------------------------------------


@dataclass(frozen=True)
class _Position:
    """Where a listing resumes: the review API's cursor (None: its first page), how many entries of that page
    were already handed out, and the page size (the same size gives the same page)."""

    api_cursor: str | None
    skip: int
    page_size: int

    def encode(self) -> str:
        plain = {"a": self.api_cursor, "s": self.skip, "n": self.page_size}
        return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> _Position:
        invalid = ToolFailure(
            "The cursor is not one this tool returned: pass next_cursor unchanged, with the same agent and "
            "filters, or leave cursor out to start from the newest entry."
        )
        try:
            plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
            raise invalid from None
        if not isinstance(plain, dict) or set(plain) != {"a", "s", "n"}:
            raise invalid
        api_cursor, skip, size = plain["a"], plain["s"], plain["n"]
        if not (api_cursor is None or isinstance(api_cursor, str)) or not all(
            type(value) is int and 0 <= value <= SEARCH_PAGE for value in (skip, size)
        ):
            raise invalid
        if size < 1 or skip >= size:
            raise invalid
        return cls(api_cursor, skip, size)


@dataclass(frozen=True)
class _Listing:
    items: list[dict[str, Any]]
    next_position: _Position | None
    pages_read: int
    stopped_early: bool  # the page budget ran out before `limit` matches were found


def _collect(
    read_page: Callable[[int, str | None], dict[str, Any]],
    start: _Position,
    limit: int,
    keep: Callable[[dict[str, Any]], bool],
) -> _Listing:
    """Up to `limit` entries that `keep` accepts, reading pages from `start`, at most MAX_PAGES_PER_CALL of them.

    The review API's pages may be shorter than asked (even empty while a cursor follows), and a search keeps only
    some entries, so this reads on until it has `limit`, the list ends, or the page budget is spent.
    """
    found: list[dict[str, Any]] = []
    position = start
    for pages_read in range(1, MAX_PAGES_PER_CALL + 1):
        page = read_page(position.page_size, position.api_cursor)
        items, next_cursor = page["items"], page.get("next_cursor")
        after_page = _Position(next_cursor, 0, position.page_size) if next_cursor else None
        for index in range(position.skip, len(items)):
            if keep(items[index]):
                found.append(items[index])
                if len(found) == limit:
                    rest_of_page = index + 1 < len(items)
                    resume = _Position(position.api_cursor, index + 1, position.page_size) if rest_of_page else None
                    return _Listing(found, resume or after_page, pages_read, stopped_early=False)
        if after_page is None:
            return _Listing(found, None, pages_read, stopped_early=False)
        position = after_page
    return _Listing(found, position, MAX_PAGES_PER_CALL, stopped_early=True)


def _clip(text: str | None, chars: int) -> tuple[str | None, bool]:
    if text is None or len(text) <= chars:
        return text, False
    return text[:chars] + "…", True


def _feedback_entry(item: dict[str, Any], comment_chars: int = COMMENT_CHARS) -> dict[str, Any]:
    """A review-API feedback item, trimmed to what an assistant needs (and the run id to look the run up)."""
    comment, cut = _clip(item.get("comment"), comment_chars)
    entry = {
        "run_id": item["run_id"],
        "outcome": item["outcome"],
        "comment": comment,
        "user_id": item.get("user_id"),
        "version": item.get("version"),
        "created_at": item.get("created_at"),
    }
    if item.get("updated_at") and item.get("updated_at") != item.get("created_at"):
        entry["updated_at"] = item["updated_at"]
    if cut:
        entry["comment_chars"] = len(item["comment"])
    return entry


def _unknown_agent(agent_id: str) -> ToolFailure:
    return ToolFailure(
        f"Unknown agent {agent_id!r}: this tenant has no agent by that id (agents appear once registered or run). "
        "Call list_agents for the agents you can read."
    )


def _check_agent(backend: ReviewBackend, agent_id: str) -> None:
    """ToolFailure for an agent the tenant does not have (only asked when a result is empty: data outlives ids)."""
    try:
        known = backend.has_agent(agent_id)
    except ReviewRefused as error:
        raise _refused(error) from error
    if not known:
        raise _unknown_agent(agent_id)


# -- the tools ------------------------------------------------------------------------------------


def list_agents(backend: ReviewBackend, limit: int, cursor: str | None) -> dict[str, Any]:
    try:
        page = backend.list_agents(limit, cursor)
    except ReviewRefused as error:
        raise _refused(error) from error
    result: dict[str, Any] = {"agents": page["items"], "next_cursor": page.get("next_cursor")}
    if result["next_cursor"]:
        result["note"] = "More agents follow: call list_agents again with cursor=next_cursor."
    elif not result["agents"] and cursor is None:
        result["note"] = "This tenant has no agents yet: register one (POST /v1/{tenant}/agents) or run one."
    return result


def list_feedback(
    backend: ReviewBackend,
    agent_id: str,
    query: FeedbackQuery,
    search: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """Newest first; `search` keeps entries whose comment holds the text (case-insensitive)."""
    needle = search.casefold() if search else None
    if needle is not None:
        # Only commented entries can match: let the index skip the others.
        query = dataclasses.replace(query, has_comment=True)
    start = _Position.decode(cursor) if cursor else _Position(None, 0, SEARCH_PAGE if needle else limit)

    def read_page(size: int, api_cursor: str | None) -> dict[str, Any]:
        return backend.list_feedback(agent_id, query, size, api_cursor)

    def keep(item: dict[str, Any]) -> bool:
        return needle is None or needle in (item.get("comment") or "").casefold()

    try:
        listing = _collect(read_page, start, limit, keep)
        if not listing.items and listing.next_position is None and cursor is None:
            _check_agent(backend, agent_id)
    except ReviewRefused as error:
        raise _refused(error) from error
    result: dict[str, Any] = {
        "agent_id": agent_id,
        "items": [_feedback_entry(item) for item in listing.items],
        "next_cursor": listing.next_position.encode() if listing.next_position else None,
    }
    notes = []
    if listing.stopped_early:
        notes.append(
            f"Searched {listing.pages_read} pages and found {len(listing.items)} matching entries; older entries "
            "are not searched yet: call again with cursor=next_cursor to go on."
        )
    elif result["next_cursor"]:
        notes.append("More entries follow: call again with cursor=next_cursor and the same filters.")
    if any("comment_chars" in entry for entry in result["items"]):
        notes.append(f"Comments longer than {COMMENT_CHARS} characters are cut; get_run shows a run's comments.")
    if notes:
        result["note"] = " ".join(notes)
    return result


def negative_comments(
    backend: ReviewBackend,
    agent_id: str,
    version: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """The negative entries that have a comment, newest first: list_feedback with those filters, run ids kept."""
    query = FeedbackQuery(outcome="negative", version=version, since=since, until=until, has_comment=True)
    listing = list_feedback(backend, agent_id, query, None, limit, cursor)
    comments = [
        {key: entry[key] for key in ("run_id", "comment", "version", "created_at", "comment_chars") if key in entry}
        for entry in listing["items"]
    ]
    result = {"agent_id": agent_id, "version": version, "comments": comments, "next_cursor": listing["next_cursor"]}
    if "note" in listing:
        result["note"] = listing["note"]
    return result


def feedback_summary(
    backend: ReviewBackend,
    agent_id: str,
    since: str | None,
    until: str | None,
    version: str | None,
    days: int,
) -> dict[str, Any]:
    """The review summary with its days cut to the latest `days` and its versions to SUMMARY_VERSIONS."""
    try:
        summary = backend.feedback_summary(agent_id, since, until, version)
        overall = summary["overall"]
        if not overall["total"] and not overall.get("runs"):
            _check_agent(backend, agent_id)
    except ReviewRefused as error:
        raise _refused(error) from error
    by_day, by_version = summary["by_day"], summary["by_version"]
    result = {**summary, "by_day": by_day[-days:], "by_version": by_version[:SUMMARY_VERSIONS]}
    notes = [
        "satisfaction = positive / (positive + negative) over current votes (one per run and user); interval is "
        "its 95% Wilson score interval."
    ]
    if len(by_day) > days:
        notes.append(f"Showing the latest {days} of {len(by_day)} days: raise `days` (or narrow since/until).")
    if len(by_version) > SUMMARY_VERSIONS:
        notes.append(
            f"Showing the {SUMMARY_VERSIONS} most recently rated of {len(by_version)} versions: pass `version` "
            "for another one."
        )
    result["note"] = " ".join(notes)
    return result


def compare_versions(
    backend: ReviewBackend, agent_id: str, base: str, candidate: str, since: str | None, until: str | None
) -> dict[str, Any]:
    """The review API's version comparison, as it answers (it is small: two versions and their statistics)."""
    try:
        return backend.compare_versions(agent_id, base, candidate, since, until)
    except ReviewRefused as error:
        raise _refused(error) from error


def _bounded_json(value: Any, chars: int) -> tuple[Any, bool]:
    """The value itself when its JSON fits in `chars`; else a preview of its JSON text."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) <= chars:
        return value, False
    return {"truncated_json": text[:chars] + "…", "chars": len(text)}, True


def get_run(backend: ReviewBackend, agent_id: str, run_id: str, max_chars: int) -> dict[str, Any]:
    """The run (input, output, version, model, cost) and its feedback, each large part cut to `max_chars`."""
    try:
        run = backend.run_detail(agent_id, run_id)
    except ReviewRefused as error:
        raise _refused(error) from error
    task_input, input_cut = _bounded_json(run.get("task_input"), max_chars)
    task_output, output_cut = _bounded_json(run.get("task_output"), max_chars)
    metadata, metadata_cut = _bounded_json(run.get("metadata") or {}, max_chars)
    feedback = run.get("feedback") or []
    result = {
        "id": run["id"],
        "agent_id": run["agent_id"],
        "created_at": run.get("created_at"),
        "version": run.get("version"),
        "model": run.get("model"),
        "schema_id": run.get("schema_id"),
        "cost_usd": run.get("cost_usd"),
        "duration_seconds": run.get("duration_seconds"),
        "input_tokens": run.get("input_tokens"),
        "output_tokens": run.get("output_tokens"),
        "task_input": task_input,
        "task_output": task_output,
        "metadata": metadata,
        "feedback": [_feedback_entry(item, max_chars) for item in feedback[:RUN_FEEDBACK_ITEMS]],
    }
    notes = []
    if input_cut or output_cut or metadata_cut or any("comment_chars" in entry for entry in result["feedback"]):
        limit_hint = f" (at most {MAX_RUN_CHARS})" if max_chars < MAX_RUN_CHARS else ""
        notes.append(
            f"Parts longer than {max_chars} characters are cut: call again with a larger max_chars{limit_hint}."
        )
    if len(feedback) > RUN_FEEDBACK_ITEMS:
        result["feedback_count"] = len(feedback)
        notes.append(f"Showing the newest {RUN_FEEDBACK_ITEMS} of {len(feedback)} feedback entries.")
    if notes:
        result["note"] = " ".join(notes)
    return result
