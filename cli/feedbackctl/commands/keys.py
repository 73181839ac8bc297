"""`feedbackctl keys`: create, list and revoke API keys, straight in the API keys table (see the group's help)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.text import Text

from feedbackctl import output
from feedbackctl.errors import UserError
from feedbackctl.local_stack import find_running_stack
from feedbackctl.options import CommandGroup, json_option
from feedbackctl.terminal import json_text

if TYPE_CHECKING:
    from agentfeedback.keys.store import ApiKeyStore

F = TypeVar("F", bound=Callable[..., Any])
TABLE_ENV = "API_KEYS_TABLE"


class AwsError(UserError):
    """DynamoDB refused or could not be reached (exit status 1, like the API's own refusals)."""

    exit_status = 1


class NoSuchKey(UserError):
    """No active key has that id in that tenant (exit status 1: the table said no)."""

    exit_status = 1


def where_options(function: F) -> F:
    """--local and --table, on the group and on each action, so they may come before or after the action."""
    function = click.option("--table", metavar="TABLE", help=f"API keys table (default: ${TABLE_ENV})")(function)
    return click.option("--local", is_flag=True, default=None, help="use the running local stack (make local)")(
        function
    )


def where(ctx: click.Context) -> tuple[bool, str | None]:
    """(--local, --table) of a keys action: its own options, else the group's; the table else $API_KEYS_TABLE."""
    group = ctx.parent.params if ctx.parent else {}
    local = ctx.params.get("local")
    local = bool(group.get("local")) if local is None else local
    return local, ctx.params.get("table") or group.get("table") or os.environ.get(TABLE_ENV)


@contextmanager
def _store() -> Iterator[ApiKeyStore]:
    """The key store this action names (see `where`), with AWS's refusals told in one line."""
    # boto3 is imported here, not at start: only the keys commands need it, and it costs a third of a second.
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    from agentfeedback.keys.store import ApiKeyStore

    local, table = where(click.get_current_context())
    try:
        if local:
            from local.stack_state import aws_client

            state, _ = find_running_stack()
            yield ApiKeyStore(aws_client(state, "dynamodb"), state["table_names"]["ApiKeysTable"])
        else:
            if not table:
                raise UserError(f"name the API keys table with --table or {TABLE_ENV} (see the stack's outputs)")
            yield ApiKeyStore(boto3.client("dynamodb"), table)
    except ValueError as exc:  # a tenant the store refuses
        raise UserError(str(exc)) from None
    except (NoCredentialsError, NoRegionError) as exc:
        raise UserError(f"{exc}: configure AWS (e.g. aws configure), or use the local stack with --local") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsError(f"DynamoDB refused: {error.get('Code', '?')}: {error.get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise AwsError(f"DynamoDB: {exc}") from None


@click.group("keys", cls=CommandGroup, short_help="create, list and revoke API keys")
@where_options
def keys_group(**where_given: Any) -> None:
    """Create, list and revoke API keys, straight in the API keys table.

    Keys are the way into the API, so managing them cannot itself go through the API: this talks to
    DynamoDB with your AWS credentials (or to the running local stack with --local). --local and --table
    may come before or after the action: `feedbackctl keys --local create --tenant local` and
    `feedbackctl keys create --local --tenant local` are the same.

    \b
    Examples:
      $ feedbackctl keys --local create --tenant local --name laptop
      $ feedbackctl keys list --tenant acme --table agent-feedback-ApiKeysTable-1ABC
      $ feedbackctl keys --local revoke --tenant local afk_1a2b3c4d
    """


@keys_group.command("create", short_help="create a key; prints it once")
@click.option("--tenant", required=True, help="the tenant the key acts for")
@click.option("--name", default="", help="a label to recognise the key by")
@where_options
def create_command(tenant: str, name: str, **where_given: Any) -> None:
    """Create a key; it is printed once, on stdout (the rest goes to stderr).

    \b
    Examples:
      $ feedbackctl keys --local create --tenant local
      $ export FEEDBACK_API_KEY=$(feedbackctl keys --local create --tenant local --name ci)
    """
    with _store() as store:
        key, record = store.create(tenant, name)
    click.echo(key)
    output.say(
        f"Created key {record.key_id}... for tenant {record.tenant}. It is shown only now: store it safely.",
        stderr=True,
    )


KEY_COLUMNS = [
    output.Column("KEY ID"),
    output.Column("NAME", flexible=True),
    output.Column("CREATED"),
    output.Column("STATUS"),
]


@keys_group.command("list", short_help="list a tenant's keys (ids only, never the keys)")
@click.option("--tenant", required=True, help="the tenant whose keys to list")
@json_option
@where_options
def list_command(tenant: str, as_json: bool, **where_given: Any) -> None:
    """List a tenant's keys (their ids and names, never the keys).

    \b
    Examples:
      $ feedbackctl keys --local list --tenant local
      $ feedbackctl keys --local list --tenant local --json
    """
    with _store() as store:
        records = store.list(tenant)
    if as_json:
        fields = ("key_id", "name", "tenant", "created_at", "active", "revoked_at")
        items = [{field: getattr(record, field) for field in fields} for record in records]
        click.echo(json_text({"items": items}, indent=2))
        return
    if not records:
        output.say(f"No API keys for tenant {tenant}.")
        return
    rows: list[list[Text | str]] = [
        [
            record.key_id,
            record.name,
            record.created_at,
            output.cell("active", "green") if record.active else output.cell(f"revoked {record.revoked_at}", "red"),
        ]
        for record in records
    ]
    output.print_table(output.console(), KEY_COLUMNS, rows)


@keys_group.command("revoke", short_help="revoke a key by its id")
@click.option("--tenant", required=True, help="the key's tenant")
@click.argument("key_id")
@where_options
def revoke_command(tenant: str, key_id: str, **where_given: Any) -> None:
    """Revoke a key by its id (the first 12 characters, as `keys list` shows them).

    \b
    Examples:
      $ feedbackctl keys --local revoke --tenant local afk_1a2b3c4d
    """
    with _store() as store:
        revoked = store.revoke(tenant, key_id)
    if not revoked:
        raise NoSuchKey(f"no active key {key_id} in tenant {tenant}")
    output.say(f"Revoked {revoked} key(s). Cached authorizations expire within 5 minutes.")


COMMANDS = [keys_group]
