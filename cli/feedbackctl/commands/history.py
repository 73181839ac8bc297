"""`feedbackctl history RUN_ID`: each feedback entry of a run with its change history (votes, changes of mind,
comment edits, retractions), as the review API keeps it (at most 20 events an entry: the first and the latest).

Everything the server sent that is shown on a terminal goes through output.cell / output.message.
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType
from rich.text import Text

from feedbackctl import output
from feedbackctl.commands.review import ENVIRONMENT_HELP, short_time, short_version
from feedbackctl.http_client import path
from feedbackctl.options import Command, agent_option, api_url_option, connect, json_option, tenant_option
from feedbackctl.terminal import json_text, visible

EVENT_COLUMNS = [output.Column("REV", right=True), output.Column("WHEN (UTC)"), output.Column("CHANGE")]


def change_label(previous: dict[str, Any] | None, event: dict[str, Any]) -> str:
    """What one event did, from the event before it: vote, vote again, a flip, a comment edit, a retraction."""
    outcome = event["outcome"]
    if outcome is None:
        return "retracted"
    if previous is None:
        label = f"vote: {outcome}"
    elif previous["outcome"] is None:
        label = f"vote again: {outcome}"
    elif previous["outcome"] != outcome:
        label = f"{previous['outcome']} → {outcome}"
    else:
        label = f"comment ({outcome})"
    if previous is not None and previous["outcome"] != outcome and event["comment_changed"]:
        label += ", comment changed"
    elif previous is None and event["comment_changed"]:
        label += ", with a comment"
    return label


def event_rows(entry: dict[str, Any]) -> list[list[str]]:
    """One row per listed event; its revision is 1 for the first and revision - len(history) + k for the k-th
    (from 1) of the others, with a row for the changes no longer listed after the first."""
    history, rows = entry["history"], []
    previous: dict[str, Any] | None = None
    for index, event in enumerate(history):
        revision = 1 if index == 0 else entry["revision"] - len(history) + index + 1
        rows.append([str(revision), short_time(event["at"]), change_label(previous, event)])
        if index == 0 and entry["dropped_events"]:
            rows.append(["…", "", f"{entry['dropped_events']} earlier changes not listed"])
        previous = event
    return rows


def history_view(items: list[dict[str, Any]], ascii_rule: bool = True) -> list[RenderableType]:
    if not items:
        return [Text("No feedback on this run.")]
    parts: list[RenderableType] = []
    for entry in items:
        state = entry["outcome"] or "retracted"
        user = visible(entry["user_id"]) if entry["user_id"] else "(anonymous)"
        parts += [
            output.message(
                (f"Entry {visible(entry['id'])}", "bold"),
                f": {user}, {state}, version {short_version(entry['version'])}, revision {entry['revision']}",
            ),
            output.table(EVENT_COLUMNS, event_rows(entry), ascii_rule),
            Text(""),
        ]
    return parts[:-1]


@click.command("history", cls=Command, epilog=ENVIRONMENT_HELP, short_help="a run's feedback with each change")
@click.argument("run_id", metavar="RUN_ID")
@agent_option
@tenant_option
@click.option("--entry", "entry_id", metavar="FEEDBACK_ID", help="only this entry (its public id)")
@json_option
@api_url_option
def history_command(
    run_id: str, agent: str, tenant: str, entry_id: str | None, as_json: bool, api_url: str | None
) -> None:
    """Show each feedback entry of a run with its change history: first vote, changes of mind, comment edits,
    retractions (at most 20 events an entry are kept: the first and the latest 19).

    \b
    Examples:
      $ feedbackctl history 01a22f98-3397-7659-b8e5-c8a6bc98a7f4 --agent support-bot
      $ feedbackctl history 01a22f98-3397-7659-b8e5-c8a6bc98a7f4 --agent support-bot --json
    """
    client = connect(api_url)
    base = ("v1", tenant, "agents", agent, "runs", run_id, "feedback")
    items = [client.get(path(*base, entry_id))] if entry_id else client.get(path(*base))["items"]
    if as_json:
        click.echo(json_text({"run_id": run_id, "items": items}, indent=2))
        return
    out = output.console()
    output.print_parts(out, history_view(items, ascii_rule=not out.is_terminal))


COMMANDS = [history_command]
