"""`feedbackctl versions`, `deploy`, `promote` and `rollback`: save versions, list them, split an environment.

An environment points at a main version and, when split, at a canary that gets a percent of the runs (each end
user keeps one version); `promote` gives the canary all of it, `rollback` removes the canary (or, without one,
returns to the previous version). Every server value shown goes through output.message / output.cell.
"""

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


class CanaryType(click.ParamType):  # type: ignore[type-arg]  # generic only in recent click
    """`VERSION=WEIGHT`, e.g. 3=10: saved version 3 gets 10% of the runs; (version, weight), weight 1 to 99."""

    name = "canary"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        number, equals, weight = str(value).partition("=")
        if not (equals and number.strip().isdigit() and weight.strip().isdigit()):
            self.fail(f"{value!r} is not VERSION=WEIGHT, e.g. 3=10 (version 3 gets 10% of the runs)", param, ctx)
        version, percent = int(number), int(weight)
        if version < 1:
            self.fail(f"{value!r}: the version is a saved version number, 1 or more", param, ctx)
        if not 1 <= percent <= 99:
            self.fail(f"{value!r}: the weight is a percent of the runs, 1 to 99", param, ctx)
        return version, percent


CANARY = CanaryType()


def split_text(binding: dict[str, Any]) -> str:
    """An environment's split from the API's binding: `1 (90%) + canary 3 (10%)`, or `1` without a canary."""
    canary = binding.get("canary")
    if not canary:
        return str(binding["version"])
    return f"{binding['version']} ({binding['weight']}%) + canary {canary['version']} ({canary['weight']}%)"


def environment_line(binding: dict[str, Any]) -> str:
    """`production -> 1 (90%) + canary 3 (10%)`, with `, previous 2` when the environment pointed elsewhere before."""
    previous = binding.get("previous_version")
    return f"{binding['environment']} -> {split_text(binding)}" + (f", previous {previous}" if previous else "")


def environment_path(tenant: str, agent: str, environment: str, *rest: str) -> str:
    return path("v1", tenant, "agents", agent, "environments", environment, *rest)


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
    for environment, binding in sorted(found["deployments"].items()):
        canary = binding.get("canary")
        deployed.setdefault(binding["version"], []).append(
            f"{environment} {binding['weight']}%" if canary else environment
        )
        if canary:
            deployed.setdefault(canary["version"], []).append(f"{environment} {canary['weight']}% (canary)")
    rows = []
    for version in found["versions"]:
        props = version["properties"]
        temperature = "" if props.get("temperature") is None else f"{props['temperature']:.2f}"
        rows.append(
            [
                str(version["number"]),
                props["model"],
                temperature,
                ", ".join(deployed.get(version["number"], [])),
                # JSON string escapes keep the instructions on one line; the table escapes the rest.
                json.dumps(props.get("instructions") or "", ensure_ascii=False)[1:-1],
            ]
        )
    out = output.console()
    output.print_table(out, VERSION_COLUMNS, rows)
    if found["deployments"]:
        out.print()
        for _, binding in sorted(found["deployments"].items()):
            output.say(environment_line(binding))


@click.command(
    "deploy",
    cls=Command,
    epilog=ENVIRONMENT_HELP,
    short_help="bind an environment to a version, or split it with a canary",
)
@agent_option
@tenant_option
@click.argument("environment", metavar="ENVIRONMENT", type=click.Choice(ENVIRONMENTS))
@click.argument("version", metavar="VERSION", type=click.IntRange(min=1))
@click.option(
    "--canary",
    metavar="VERSION=WEIGHT",
    type=CANARY,
    help="split the environment: this saved version gets WEIGHT percent (1 to 99) of the runs, VERSION the rest",
)
@api_url_option
def deploy_command(
    agent: str, tenant: str, environment: str, version: int, canary: tuple[int, int] | None, api_url: str | None
) -> None:
    """Bind an environment (dev, staging, production) to a saved version number, or split it with a canary.

    Runs that ask for the environment by name get that version from then on. With --canary, a second saved
    version gets a percent of the runs; each end user (a run's metadata.user_id) keeps one version. Deploying
    without --canary removes a split.

    \b
    Examples:
      $ feedbackctl deploy --agent support-bot staging 3
      $ feedbackctl deploy --agent support-bot production 1 --canary 3=10
    """
    body: dict[str, Any] = {"version": version}
    if canary is not None:
        body["canary"] = {"version": canary[0], "weight": canary[1]}
    bound = connect(api_url).put(environment_path(tenant, agent, environment), body)
    output.say(f"{agent}: {environment_line(bound)}")


@click.command(
    "promote",
    cls=Command,
    epilog=ENVIRONMENT_HELP,
    short_help="give an environment's canary all of its runs",
)
@agent_option
@tenant_option
@click.argument("environment", metavar="ENVIRONMENT", type=click.Choice(ENVIRONMENTS))
@api_url_option
def promote_command(agent: str, tenant: str, environment: str, api_url: str | None) -> None:
    """Promote an environment's canary: it becomes the main version, with all of the runs.

    The version it replaces becomes the previous one (where `rollback` returns). An environment without a
    canary is refused (409).

    \b
    Examples:
      $ feedbackctl promote --agent support-bot production
    """
    bound = connect(api_url).post(environment_path(tenant, agent, environment, "promote"), None)
    output.say(f"{agent}: {environment_line(bound)}")


@click.command(
    "rollback",
    cls=Command,
    epilog=ENVIRONMENT_HELP,
    short_help="remove an environment's canary, or return to its previous version",
)
@agent_option
@tenant_option
@click.argument("environment", metavar="ENVIRONMENT", type=click.Choice(ENVIRONMENTS))
@api_url_option
def rollback_command(agent: str, tenant: str, environment: str, api_url: str | None) -> None:
    """Roll an environment back: a split loses its canary (the main version gets all of the runs); an environment
    without a canary returns to the version it pointed at before. Nothing to return to is refused (409).

    \b
    Examples:
      $ feedbackctl rollback --agent support-bot production
    """
    bound = connect(api_url).post(environment_path(tenant, agent, environment, "rollback"), None)
    output.say(f"{agent}: {environment_line(bound)}")


COMMANDS = [versions_group, deploy_command, promote_command, rollback_command]
