"""`feedbackctl agents list | show | create`: a tenant's registered agents, one agent's schemas, registering one.

REST and JavaScript users register an agent (POST /v1/{tenant}/agents) before they run it; `create` does
that from two JSON Schema files.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.text import Text

from feedbackctl import output
from feedbackctl.commands.review import ENVIRONMENT_HELP, short_time
from feedbackctl.errors import UserError, read_text_file
from feedbackctl.http_client import path
from feedbackctl.options import POSITIVE, CommandGroup, api_url_option, connect, json_option, tenant_option
from feedbackctl.terminal import json_text, visible

PAGE_SIZE = 100  # the API's maximum


@click.group("agents", cls=CommandGroup, short_help="list, show and register agents")
def agents_group() -> None:
    """List your tenant's agents, show one, or register one from its input and output JSON Schemas.

    \b
    Examples:
      $ feedbackctl agents list
      $ feedbackctl agents show city-facts
      $ feedbackctl agents create city-facts --input-schema input.json --output-schema output.json
    """


@agents_group.command("list", epilog=ENVIRONMENT_HELP, short_help="list the tenant's agents")
@tenant_option
@click.option("--limit", type=POSITIVE, default=100, show_default=True, help="agents to show")
@click.option("--cursor", help="continue after this agent id (printed after the table)")
@json_option
@api_url_option
def list_command(tenant: str, limit: int, cursor: str | None, as_json: bool, api_url: str | None) -> None:
    """List the tenant's registered agents, in id order.

    An agent is listed once it is registered (POST /v1/{tenant}/agents, `feedbackctl agents create --help`, an SDK's
    first run) or has a saved version.

    \b
    Examples:
      $ feedbackctl agents list
      $ feedbackctl agents list --json
    """
    client = connect(api_url)
    agents: list[dict[str, Any]] = []
    next_cursor = cursor
    for page, page_cursor in client.pages(path("v1", tenant, "agents"), {}, PAGE_SIZE, limit, cursor):
        agents, next_cursor = agents + page, page_cursor
    if as_json:
        click.echo(json_text({"items": agents, "next_cursor": next_cursor}, indent=2))
        return
    out = output.console()
    if not agents:
        out.print(output.message("No agents yet: register one with ", ("`feedbackctl agents create --help`", "bold")))
    else:
        rows: list[list[Text | str]] = [
            [output.cell(agent["id"], "bold"), short_time(agent["created_at"])] for agent in agents
        ]
        output.print_table(out, [output.Column("AGENT"), output.Column("REGISTERED (UTC)")], rows)
    if next_cursor:
        output.say("", stderr=True)
        output.say(output.message("More agents: add ", (f"--cursor {visible(next_cursor)}", "bold")), stderr=True)


def schema_fields(schema: dict[str, Any]) -> str:
    """An object schema's properties as `name: type`, required ones marked with *; other schemas by their type."""
    properties = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(properties, dict):
        return str(schema.get("type", "any"))
    required = set(schema.get("required") or [])
    fields = []
    for name, spec in properties.items():
        kind = spec.get("type", "any") if isinstance(spec, dict) else "any"
        kind = "|".join(map(str, kind)) if isinstance(kind, list) else str(kind)
        fields.append(f"{name}{'*' if name in required else ''}: {kind}")
    return ", ".join(fields) or "{}"


SCHEMA_COLUMNS = [
    output.Column("SCHEMA", right=True),
    output.Column("INPUT (* required)", flexible=True),
    output.Column("OUTPUT (* required)", flexible=True),
]


@agents_group.command("show", epilog=ENVIRONMENT_HELP, short_help="show an agent's schemas, versions and environments")
@click.argument("agent_id")
@tenant_option
@json_option
@api_url_option
def show_command(agent_id: str, tenant: str, as_json: bool, api_url: str | None) -> None:
    """Show one agent: when it was registered, its schemas, saved versions and deployed environments.

    --json prints the whole schemas.

    \b
    Examples:
      $ feedbackctl agents show city-facts
      $ feedbackctl agents show city-facts --json
    """
    agent = connect(api_url).get(path("v1", tenant, "agents", agent_id))
    if as_json:
        click.echo(json_text(agent, indent=2))
        return
    out = output.console()
    registered = f", registered {short_time(agent['created_at'])} UTC" if agent.get("created_at") else ""
    out.print(output.message(("Agent ", "bold"), (visible(agent["id"]), "bold"), registered), soft_wrap=True)
    environments = ", ".join(f"{name} → {number}" for name, number in sorted(agent["environments"].items()))
    out.print(
        output.message(f"Saved versions: {agent['version_count']}; deployed: {environments or 'none'}"),
        soft_wrap=True,
    )
    out.print(Text(""))
    rows = [
        [str(schema["schema_id"]), schema_fields(schema["input_schema"]), schema_fields(schema["output_schema"])]
        for schema in agent["schemas"]
    ]
    if rows:
        output.print_table(out, SCHEMA_COLUMNS, rows)
    else:
        out.print("No schemas registered (only saved versions).")


def _schema_file(file_name: str, option: str) -> dict[str, Any]:
    """The JSON object in the file `option` names; UserError if it cannot be read or is not a JSON object."""
    text = read_text_file(file_name, option)
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{option} {file_name}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(schema, dict):
        raise UserError(f'{option} {file_name}: a JSON Schema is a JSON object, e.g. {{"type": "object"}}')
    return schema


@agents_group.command("create", epilog=ENVIRONMENT_HELP, short_help="register an agent from two JSON Schema files")
@click.argument("agent_id")
@click.option(
    "--input-schema", "input_file", required=True, metavar="FILE", help="JSON Schema of the task input (a file)"
)
@click.option(
    "--output-schema", "output_file", required=True, metavar="FILE", help="JSON Schema of the task output (a file)"
)
@tenant_option
@json_option
@api_url_option
def create_command(
    agent_id: str, input_file: str, output_file: str, tenant: str, as_json: bool, api_url: str | None
) -> None:
    """Register an agent, or a new schema pair of it, from two JSON Schema files.

    Prints the schema id to run it with (POST /v1/{tenant}/agents/AGENT_ID/schemas/SCHEMA_ID/run). The same
    schemas always give the same schema id, so creating again is harmless; changed schemas get a new one.

    \b
    Examples:
      $ feedbackctl agents create city-facts --input-schema input.json --output-schema output.json
      $ feedbackctl agents create city-facts --input-schema input.json --output-schema output.json --json
    """
    body = {
        "id": agent_id,
        "input_schema": _schema_file(input_file, "--input-schema"),
        "output_schema": _schema_file(output_file, "--output-schema"),
    }
    registered = connect(api_url).post(path("v1", tenant, "agents"), body)
    if as_json:
        click.echo(json_text(registered, indent=2))
        return
    output.say(
        output.message(
            "Registered agent ",
            (visible(registered["id"]), "bold"),
            f" with schema {registered['schema_id']}: run it with "
            f"POST /v1/{{tenant}}/agents/{registered['id']}/schemas/{registered['schema_id']}/run.",
        )
    )


COMMANDS = [agents_group]
