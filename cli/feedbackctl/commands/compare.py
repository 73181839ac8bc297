"""`feedbackctl compare`: is one version of an agent better liked than another?

Draws the review API's comparison (GET .../versions/compare): each version's votes and satisfaction with its 95%
Wilson interval, the difference with its 95% Newcombe interval, the p-value and the test used, the votes each
version needs, and the server's verdict. The figures are the server's; this module only formats them, every
server value through output.message / output.cell (terminal.visible).
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType
from rich.text import Text

from feedbackctl import output
from feedbackctl.commands.review import ENVIRONMENT_HELP, interval_text, percent, short_time, short_version
from feedbackctl.http_client import path
from feedbackctl.options import (
    Command,
    agent_option,
    api_url_option,
    connect,
    json_option,
    tenant_option,
    window_options,
)
from feedbackctl.terminal import json_text, visible

TEST_NAMES = {"fisher_exact": "Fisher's exact test", "two_proportion_z": "two-proportion z-test"}
DECISION_STYLES = {"candidate_better": "green", "candidate_worse": "red"}

COLUMNS = [
    output.Column(""),
    output.Column("VERSION"),
    *(output.Column(name, right=True) for name in ("VOTES", "POS", "NEG", "SATISFACTION", "95% INTERVAL")),
]


def version_label(compared: dict[str, Any]) -> str:
    """The saved number, else the version id shortened (a version of inline properties was never saved)."""
    number = compared.get("version")
    return str(number) if number is not None else short_version(compared["version_id"])


def points(value: float) -> str:
    """A difference of proportions in percentage points, signed: 0.51 -> +51.0."""
    return f"{value * 100:+.1f}"


def p_text(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3g}"


def comparison_view(found: dict[str, Any], ascii_rule: bool = True) -> list[RenderableType]:
    """The compare screen, part by part: window, one row per version, difference, votes needed, verdict."""
    rows = [
        [
            role,
            version_label(found[role]),
            str(found[role]["total"]),
            str(found[role]["positive"]),
            str(found[role]["negative"]),
            percent(found[role]["satisfaction"]),
            interval_text(found[role]["interval"]),
        ]
        for role in ("base", "candidate")
    ]
    parts: list[RenderableType] = [
        output.message(
            (f"Agent {visible(found['agent_id'])}", "bold"),
            f": {short_time(found['since'])} to {short_time(found['until'])} UTC",
        ),
        Text(""),
        output.table(COLUMNS, rows, ascii_rule),
        Text(""),
    ]
    difference, significance = found.get("difference"), found.get("significance")
    if difference and significance:
        bounds = difference["interval"]
        parts.append(
            output.message(
                f"Difference: {points(difference['estimate'])} points (95% interval {points(bounds['low'])} to "
                f"{points(bounds['high'])}), {p_text(significance['p_value'])} "
                f"({TEST_NAMES.get(significance['test'], significance['test'])})"
            )
        )
    else:
        parts.append(Text("Difference: - (a version has no votes in this window)"))
    needed, more = found.get("votes_needed_per_version"), found.get("more_votes_needed")
    if needed is None:
        parts.append(Text("Votes needed per version: - (no difference observed)"))
    else:
        still = f"{more} more for the version with fewer" if more else "both have enough"
        parts.append(
            Text(f"Votes needed per version: {needed} ({still}; {found['power'] * 100:.0f}% power at the 5% level)")
        )
    parts.append(
        output.message(("Verdict: ", "bold"), (visible(found["verdict"]), DECISION_STYLES.get(found["decision"], "")))
    )
    return parts


@click.command(
    "compare",
    cls=Command,
    epilog=ENVIRONMENT_HELP,
    short_help="compare two versions' satisfaction: difference, p-value, verdict",
)
@agent_option
@tenant_option
@click.argument("base", metavar="BASE")
@click.argument("candidate", metavar="CANDIDATE")
@window_options
@json_option
@api_url_option
def compare_command(
    agent: str,
    tenant: str,
    base: str,
    candidate: str,
    since: str | None,
    until: str | None,
    as_json: bool,
    api_url: str | None,
) -> None:
    """Compare two versions (saved numbers, or version ids): is CANDIDATE better liked than BASE?

    Counts current votes (one per run and user) over the window's whole UTC days (default: the 30 days ending
    today) for each version:
    satisfaction with its 95% Wilson interval, the difference with its 95% interval (Newcombe), a two-sided
    p-value (Fisher's exact test for small counts, else a two-proportion z-test), the votes each version needs
    for 80% power, and a verdict. Decide how many votes to wait for first, then look: checking again and again
    until p < 0.05 finds differences that are not there.

    \b
    Examples:
      $ feedbackctl compare --agent support-bot 1 2
      $ feedbackctl compare --agent support-bot 1 2 --since 7d
      $ feedbackctl compare --agent support-bot 1 3f2a9c1d0b7e4a6f8c5d2e1f0a9b8c7d --json
    """
    params = {"base": base, "candidate": candidate, "since": since, "until": until}
    found = connect(api_url).get(path("v1", tenant, "agents", agent, "versions", "compare"), params)
    if as_json:
        click.echo(json_text(found, indent=2))
        return
    out = output.console()
    output.print_parts(out, comparison_view(found, ascii_rule=not out.is_terminal))


COMMANDS = [compare_command]
