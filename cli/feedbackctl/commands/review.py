"""`feedbackctl list` and `feedbackctl summary`: read an agent's feedback through the review API.

Everything the server sent that is shown on a terminal (comments, user ids, agent ids, cursors) goes through
output.cell / output.message (terminal.visible); --json output through terminal.json_text.
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType
from rich.text import Text

from feedbackctl import output
from feedbackctl.http_client import API_KEY_ENV, API_URL_ENV, path
from feedbackctl.options import (
    POSITIVE,
    Command,
    agent_option,
    api_url_option,
    connect,
    filter_options,
    json_option,
    tenant_option,
    window_options,
)
from feedbackctl.terminal import json_text, visible

PAGE_SIZE = 100  # the API's maximum

ENVIRONMENT_HELP = f"""\b
Environment:
  {API_KEY_ENV}  an API key of your tenant (required)
  {API_URL_ENV}  the API's base URL (default: the running local stack's, else http://127.0.0.1:3000;
  the order is in `feedbackctl --help`)"""


def feedback_path(tenant: str, agent: str, *rest: str) -> str:
    return path("v1", tenant, "agents", agent, "feedback", *rest)


def list_params(**filters: Any) -> dict[str, Any]:
    """The review list's query parameters from the filter and window options."""
    names = ("outcome", "user_id", "version", "has_comment", "since", "until")
    return {name: filters.get(name) for name in names}


# --- what is shown ------------------------------------------------------------------------------------


def one_line(text: str | None) -> str:
    """A comment on one table line: whitespace collapsed (the table cuts it to fit, with an ellipsis)."""
    return " ".join((text or "").split())


def short_time(stamp: str | None) -> str:
    """2026-11-26T17:00:05.123456Z -> 2026-11-26 17:00 (UTC)."""
    return visible((stamp or "")[:16].replace("T", " "))


def short_version(version: str) -> str:
    version = visible(version)
    return version if len(version) <= 10 else version[:8] + "…"


FEEDBACK_COLUMNS = [
    output.Column("OUTCOME"),
    output.Column("DATE (UTC)"),
    output.Column("COMMENT", flexible=True),
    # As wide as a shortened version id can be, so pages of a list line up.
    output.Column("VERSION", min_width=10),
    output.Column("RUN"),
]


def feedback_rows(items: list[dict[str, Any]]) -> list[list[Text]]:
    return [
        [
            output.cell(item["outcome"], output.OUTCOME_STYLES.get(item["outcome"], "")),
            output.cell(short_time(item["created_at"])),
            output.cell(one_line(item.get("comment")) or "-"),
            output.cell(short_version(item["version"])),
            output.cell(item["run_id"]),
        ]
        for item in items
    ]


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def interval_text(interval: dict[str, float] | None) -> str:
    return "-" if interval is None else f"[{percent(interval['low'])}, {percent(interval['high'])}]"


def count(value: int | None) -> str:
    return "-" if value is None else str(value)


def figures_row(figures: dict[str, Any]) -> list[str]:
    return [
        percent(figures["satisfaction"]),
        interval_text(figures["interval"]),
        str(figures["positive"]),
        str(figures["negative"]),
        str(figures["total"]),
        count(figures["runs"]),
        count(figures["runs_with_feedback"]),
        percent(figures["feedback_share"]),
    ]


# SATISFACTION to VOTES: the figures of votes alone; RUNS, RATED and SHARE need the runs.
VOTE_FIGURES = 5
# Enough of a version id to tell versions apart (`feedbackctl versions list` shows them whole).
VERSION_WIDTH = 12


def shortened(text: str, width: int) -> str:
    """text cut to `width` characters, the last one an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


FIGURE_COLUMNS = [
    output.Column(name, right=True)
    for name in ("SATISFACTION", "95% INTERVAL", "POS", "NEG", "VOTES", "RUNS", "RATED", "SHARE")
]


def summary_view(summary: dict[str, Any], ascii_rule: bool = True) -> list[RenderableType]:
    """The summary screen, part by part (text lines and tables), every server value escaped."""
    overall = summary["overall"]
    title = f"Agent {summary['agent_id']}" + (f", version {summary['version']}" if summary.get("version") else "")
    parts: list[RenderableType] = [
        output.message(
            (visible(title), "bold"), f": {short_time(summary['since'])} to {short_time(summary['until'])} UTC"
        ),
        Text(""),
    ]
    if overall["total"]:
        parts.append(
            output.message(
                "Satisfaction ",
                (percent(overall["satisfaction"]), "bold"),
                f" (95% interval {interval_text(overall['interval'])}) from {overall['total']} votes: "
                f"{overall['positive']} positive, {overall['negative']} negative.",
            )
        )
    else:
        parts.append(Text("No votes in this window."))
    if overall["runs"] is not None:
        parts.append(
            Text(
                f"{overall['runs_with_feedback']} of {overall['runs']} runs got feedback "
                f"({percent(overall['feedback_share'])})."
            )
        )
    if summary["by_version"]:
        # Without runs per version (the runs index does not carry versions) RUNS/RATED/SHARE would be all '-':
        # left out, so the version id keeps its room at 80 columns.
        shown = len(FIGURE_COLUMNS) if summary["by_version"][0]["runs"] is not None else VOTE_FIGURES
        rows = [
            [shortened(row["version"], VERSION_WIDTH), *figures_row(row)[:shown], short_time(row["last_feedback_at"])]
            for row in summary["by_version"]
        ]
        # The version keeps its width; the time of the last vote is what narrows on a small terminal.
        columns = [output.Column("VERSION"), *FIGURE_COLUMNS[:shown], output.Column("LAST VOTE", flexible=True)]
        parts += [Text(""), Text("By version (most recently rated first)"), output.table(columns, rows, ascii_rule)]
    if summary["by_day"]:
        rows = [[row["day"], *figures_row(row)] for row in summary["by_day"]]
        columns = [output.Column("DAY"), *FIGURE_COLUMNS]
        parts += [Text(""), Text("By day (UTC, day of the first vote)"), output.table(columns, rows, ascii_rule)]
    if summary["by_version"] and summary["by_version"][0]["runs"] is None:
        parts += [Text(""), Text("No RUNS/RATED/SHARE per version: the runs index does not carry versions.")]
    return parts


# --- commands -----------------------------------------------------------------------------------------


@click.command("list", cls=Command, epilog=ENVIRONMENT_HELP, short_help="list an agent's feedback, newest first")
@agent_option
@tenant_option
@window_options
@filter_options
@click.option("--limit", type=POSITIVE, default=30, show_default=True, help="rows to show")
@click.option("--cursor", help="continue where an earlier list stopped (printed after the table)")
@json_option
@api_url_option
def list_command(
    agent: str, tenant: str, limit: int, cursor: str | None, as_json: bool, api_url: str | None, **filters: Any
) -> None:
    """List an agent's feedback, newest first: outcome, date, comment, version and run.

    \b
    Examples:
      $ feedbackctl list --agent support-bot
      $ feedbackctl list --agent support-bot --outcome negative --with-comment --since 7d
      $ feedbackctl list --agent support-bot --user-id ana@example.com --json
    """
    client = connect(api_url)
    items: list[dict[str, Any]] = []
    next_cursor = cursor
    pages = client.pages(feedback_path(tenant, agent), list_params(**filters), PAGE_SIZE, limit, cursor)
    # Progress only for lists of several pages: one request needs none.
    with output.paging_progress("Reading", enabled=limit > PAGE_SIZE) as progress:
        task = progress.add_task("list", total=None, pages=output.pages_text(0))
        for number, (page, page_cursor) in enumerate(pages, start=1):
            items, next_cursor = items + page, page_cursor
            progress.update(task, advance=len(page), pages=output.pages_text(number), refresh=True)
    if as_json:
        click.echo(json_text({"items": items, "next_cursor": next_cursor}, indent=2))
        return
    out = output.console()
    if not items:
        out.print("No feedback matches.")
    else:
        output.print_table(out, FEEDBACK_COLUMNS, feedback_rows(items))
    if next_cursor:
        output.say("", stderr=True)
        output.say(output.message("More feedback: add ", (f"--cursor {visible(next_cursor)}", "bold")), stderr=True)


@click.command(
    "summary",
    cls=Command,
    epilog=ENVIRONMENT_HELP,
    short_help="satisfaction per version and per day, with 95% intervals",
)
@agent_option
@tenant_option
@window_options
@click.option("--version", help="only this agent version id")
@json_option
@api_url_option
def summary_command(
    agent: str,
    tenant: str,
    since: str | None,
    until: str | None,
    version: str | None,
    as_json: bool,
    api_url: str | None,
) -> None:
    """Satisfaction per version and per day, with 95% Wilson intervals.

    Satisfaction = positive / (positive + negative) over current votes (one per run and user), with a 95%
    Wilson interval, per agent version and per day; and the share of runs that got feedback. The window counts
    whole UTC days (--since back to its midnight, --until forward to the next) and defaults to the 30 days
    ending today (at most 366).

    \b
    Examples:
      $ feedbackctl summary --agent support-bot
      $ feedbackctl summary --agent support-bot --since 2026-11-01 --until 2026-12-01
      $ feedbackctl summary --agent support-bot --version 3f2a9c1d --json
    """
    params = {"since": since, "until": until, "version": version}
    summary = connect(api_url).get(feedback_path(tenant, agent, "summary"), params)
    if as_json:
        click.echo(json_text(summary, indent=2))
        return
    out = output.console()
    output.print_parts(out, summary_view(summary, ascii_rule=not out.is_terminal))


COMMANDS = [list_command, summary_command]
