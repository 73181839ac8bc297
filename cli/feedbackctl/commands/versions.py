"""`feedbackctl versions` and `feedbackctl deploy`: save an agent's improved instructions, list versions, deploy one."""

from __future__ import annotations

import json
from typing import Any

import click

from feedbackctl import output
from feedbackctl.commands.review import ENVIRONMENT_HELP
from feedbackctl.errors import read_text_file
from feedbackctl.http_client import path
from feedbackctl.options import Command, CommandGroup, agent_option, api_url_option, connect, json_option, tenant_option
from feedbackctl.terminal import json_text

ENVIRONMENTS = ("dev", "staging", "production")


@click.group("versions", cls=CommandGroup, short_help="save and list an agent's versions")
def versions_group() -> None:
    """Save an agent's properties (model, instructions, temperature) as numbered versions; list them.

    \b
    Examples:
      $ feedbackctl versions save --agent support-bot --model gpt-4o-mini --instructions-file prompt.txt
      $ feedbackctl versions list --agent support-bot
    """


@versions_group.command("save", epilog=ENVIRONMENT_HELP, short_help="save a version's properties")
@agent_option
@tenant_option
@click.option("--model", required=True, help="model id, e.g. offline or gpt-4o-mini")
@click.option("--instructions", help="the instructions text")
@click.option("--instructions-file", metavar="FILE", help="read the instructions from this file")
@click.option("--temperature", type=click.FloatRange(0, 2), help="sampling temperature, 0 to 2")
@json_option
@api_url_option
def save_command(
    agent: str,
    tenant: str,
    model: str,
    instructions: str | None,
    instructions_file: str | None,
    temperature: float | None,
    as_json: bool,
    api_url: str | None,
) -> None:
    """Save a version's properties; the same properties always give the same version.

    \b
    Examples:
      $ feedbackctl versions save --agent support-bot --model offline --instructions "Answer in French."
      $ feedbackctl versions save --agent support-bot --model gpt-4o-mini --instructions-file p.txt --temperature 0.2
    """
    if instructions is not None and instructions_file is not None:
        raise click.UsageError("--instructions and --instructions-file: give one of them, not both")
    properties: dict[str, Any] = {"model": model}
    if instructions_file:
        properties["instructions"] = read_text_file(instructions_file, "--instructions-file")
    elif instructions:
        properties["instructions"] = instructions
    if temperature is not None:
        properties["temperature"] = temperature
    saved = connect(api_url).post(path("v1", tenant, "agents", agent, "versions"), properties)
    if as_json:
        click.echo(json_text(saved, indent=2))
        return
    output.say(f"Saved version {saved['number']} of {agent} (id {saved['id']}).")


VERSION_COLUMNS = [
    output.Column("#", right=True),
    output.Column("MODEL"),
    output.Column("TEMP", right=True),
    output.Column("DEPLOYED TO"),
    output.Column("INSTRUCTIONS", flexible=True),
]


@versions_group.command("list", epilog=ENVIRONMENT_HELP, short_help="list saved versions and where they are deployed")
@agent_option
@tenant_option
@json_option
@api_url_option
def list_command(agent: str, tenant: str, as_json: bool, api_url: str | None) -> None:
    """List an agent's saved versions and the environments each is deployed to.

    \b
    Examples:
      $ feedbackctl versions list --agent support-bot
      $ feedbackctl versions list --agent support-bot --json
    """
    found = connect(api_url).get(path("v1", tenant, "agents", agent, "versions"))
    if as_json:
        click.echo(json_text(found, indent=2))
        return
    if not found["versions"]:
        output.say(f"No saved versions of {agent} yet.")
        return
    deployed: dict[int, list[str]] = {}
    for environment, number in found["environments"].items():
        deployed.setdefault(number, []).append(environment)
    rows = []
    for version in found["versions"]:
        props = version["properties"]
        temperature = "" if props.get("temperature") is None else f"{props['temperature']:.2f}"
        rows.append(
            [
                str(version["number"]),
                props["model"],
                temperature,
                ",".join(sorted(deployed.get(version["number"], []))),
                # JSON string escapes keep the instructions on one line; the table escapes the rest.
                json.dumps(props.get("instructions") or "", ensure_ascii=False)[1:-1],
            ]
        )
    output.print_table(output.console(), VERSION_COLUMNS, rows)


@click.command(
    "deploy",
    cls=Command,
    epilog=ENVIRONMENT_HELP,
    short_help="bind an environment (dev, staging, production) to a version",
)
@agent_option
@tenant_option
@click.argument("environment", metavar="ENVIRONMENT", type=click.Choice(ENVIRONMENTS))
@click.argument("version", metavar="VERSION", type=click.IntRange(min=1))
@api_url_option
def deploy_command(agent: str, tenant: str, environment: str, version: int, api_url: str | None) -> None:
    """Bind an environment (dev, staging, production) to a saved version number.

    Runs that ask for the environment by name get that version from then on.

    \b
    Examples:
      $ feedbackctl deploy --agent support-bot staging 3
      $ feedbackctl deploy --agent support-bot production 3
    """
    url = path("v1", tenant, "agents", agent, "environments", environment)
    bound = connect(api_url).put(url, {"version": version})
    output.say(f"{agent}: {bound['environment']} now runs version {bound['version']}.")


COMMANDS = [versions_group, deploy_command]
