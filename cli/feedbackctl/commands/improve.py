"""`feedbackctl improve`: draft a version's next instructions from its negative feedback, saved undeployed.

Calls POST .../versions/{number}/improve (always with a JSON body, `{}` for the defaults) and shows the unified
diff (+ green, - red, only on a terminal), the saved version, the changelog, the feedback used, the model and
its cost, and the command that sends part of production to the draft. Every server value goes through
output.cell / output.message (terminal.visible): the diff and changelog quote end users.
"""

from __future__ import annotations

from typing import Any

import click
from rich.text import Text

from feedbackctl import output
from feedbackctl.commands.review import ENVIRONMENT_HELP
from feedbackctl.http_client import path
from feedbackctl.options import Command, agent_option, api_url_option, connect, json_option, tenant_option
from feedbackctl.terminal import json_text, visible

MAX_FEEDBACK = 50  # the API's limit (ImproveRequest.max_feedback)


def diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    return {"+": "green", "-": "red"}.get(line[:1], "")


def improve_body(model: str | None, max_feedback: int | None, include_positive: bool) -> dict[str, Any]:
    """The request's JSON object: only the options given (the server's defaults for the rest); {} at least."""
    body: dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    if max_feedback is not None:
        body["max_feedback"] = max_feedback
    if include_positive:
        body["include_positive"] = True
    return body


def improved_view(agent: str, improved: dict[str, Any]) -> list[Text]:
    """The improve screen, line by line: diff, what was saved, changelog, feedback used, cost, next step."""
    base, new = improved["base_version"], improved["version"]["number"]
    lines = [output.cell(line, diff_style(line)) for line in improved["diff"].splitlines()]
    if not lines:
        lines.append(Text(f"The draft's instructions are the same as version {base}'s."))
    lines.append(Text(""))
    if improved["created"]:
        lines.append(output.message(("Saved as version ", "bold"), (str(new), "bold"), ", not deployed."))
    else:
        lines.append(
            output.message(f"The draft equals version {new}, saved before: nothing new was saved, nothing deployed.")
        )
    if improved["changelog"]:
        lines.append(Text("Changes:"))
        lines += [output.message(f"  - {change}") for change in improved["changelog"]]
    used = len(improved["feedback_ids"])
    lines.append(
        output.message(
            f"Drafted from {used} feedback {'item' if used == 1 else 'items'} of version {base} by "
            f"{improved['model']}: {improved['input_tokens']} input + {improved['output_tokens']} output tokens, "
            f"${improved['cost_usd']:.4f}."
        )
    )
    if new != base:
        lines += [
            Text(""),
            output.message(
                "Read the diff (it quotes end users), then try it on 10% of production: ",
                (f"`feedbackctl deploy --agent {visible(agent)} production {base} --canary {new}=10`", "bold"),
            ),
        ]
    return lines


@click.command(
    "improve",
    cls=Command,
    epilog=ENVIRONMENT_HELP,
    short_help="draft a version's next instructions from its negative feedback",
)
@agent_option
@tenant_option
@click.argument("version", metavar="VERSION", type=click.IntRange(min=1))
@click.option("--model", help="the model that drafts (any model id a run accepts); default: the version's own")
@click.option(
    "--max-feedback",
    type=click.IntRange(1, MAX_FEEDBACK),
    help=f"the newest negative comments to use, 1 to {MAX_FEEDBACK} (server default: 20)",
)
@click.option("--include-positive", is_flag=True, help="also show the model as many positive comments: what to keep")
@json_option
@api_url_option
def improve_command(
    agent: str,
    tenant: str,
    version: int,
    model: str | None,
    max_feedback: int | None,
    include_positive: bool,
    as_json: bool,
    api_url: str | None,
) -> None:
    """Draft new instructions for saved VERSION from its newest negative comments; save them as a new version.

    The draft (the version's other properties unchanged) is saved bound to no environment: nothing runs it until
    you deploy it. A version without a negative comment is refused (409). The offline model cannot rewrite text:
    its draft lists the newest complaints under the instructions; choose a real model for a rewrite.

    \b
    Examples:
      $ feedbackctl improve --agent support-bot 1
      $ feedbackctl improve --agent support-bot 1 --model gpt-4o-mini --max-feedback 30 --include-positive
      $ feedbackctl improve --agent support-bot 1 --json
    """
    url = path("v1", tenant, "agents", agent, "versions", str(version), "improve")
    improved = connect(api_url).post(url, improve_body(model, max_feedback, include_positive))
    if as_json:
        click.echo(json_text(improved, indent=2))
        return
    output.print_parts(output.console(), improved_view(agent, improved))


COMMANDS = [improve_command]
