"""The options and argument types the commands share, so that the same flag means the same everywhere.

A command that calls the API takes `@api_url_option` and builds its client with `connect(api_url)`: --api-url
may then come before the command (`feedbackctl --api-url URL list ...`) or after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

from agentfeedback.core.errors import ValidationFailed
from agentfeedback.core.ids import canonical_user_id
from feedbackctl.http_client import API_URL_HELP, FeedbackApiClient

F = TypeVar("F", bound=Callable[..., Any])

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class TimeType(click.ParamType):  # type: ignore[type-arg]  # generic only in recent click
    """An ISO 8601 date or time (passed as is), or a relative one like 30m, 12h, 7d, 2w (that long ago, in UTC)."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        relative = _RELATIVE.match(text)
        if relative:
            amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
            moment = datetime.now(UTC) - timedelta(**{unit: amount})
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{value!r} is neither an ISO 8601 date or time (2026-11-26, 2026-11-26T17:00:00Z) "
                "nor a relative time (30m, 12h, 7d, 2w)",
                param,
                ctx,
            )
        return text


class UserIdType(click.ParamType):  # type: ignore[type-arg]
    """An end-user id, as typed, once core.ids.canonical_user_id accepts it: a mistake is found before any request.

    It is sent as typed: the server reads any spelling (NFC or NFD, surrounding white space) as the canonical
    id, and also finds entries stored under that exact spelling before ids were canonical.
    """

    name = "user_id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            canonical_user_id(str(value), field="an end-user id")
        except ValidationFailed as exc:
            self.fail(exc.message.removeprefix("Invalid request: "), param, ctx)
        return str(value)


TIME = TimeType()
USER_ID = UserIdType()
POSITIVE = click.IntRange(min=1)


def connect(api_url: str | None) -> FeedbackApiClient:
    """The API client of this invocation: --api-url after the command, else before it, else the environment's."""
    root = click.get_current_context().find_root()
    return FeedbackApiClient.connect(api_url or root.params.get("api_url"))


def api_url_option(function: F) -> F:
    return click.option("--api-url", metavar="URL", help=API_URL_HELP)(function)


def tenant_option(function: F) -> F:
    return click.option("--tenant", default="_", show_default=True, help="the tenant; _ is the API key's own tenant")(
        function
    )


def agent_option(function: F) -> F:
    return click.option("--agent", required=True, metavar="AGENT_ID", help="the agent id")(function)


def json_option(function: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="print the API's answer as JSON (exact values, for scripts)"
    )(function)


def window_options(function: F) -> F:
    function = click.option("--until", type=TIME, help="before this time (exclusive): ISO 8601, or 7d, 12h ago")(
        function
    )
    return click.option("--since", type=TIME, help="from this time on (inclusive): ISO 8601, or 7d, 12h ago")(function)


def filter_options(function: F) -> F:
    """--outcome, --user-id, --version and --with-comment/--without-comment, the review list's filters."""
    for option in reversed(
        [
            click.option("--outcome", type=click.Choice(["positive", "negative"]), help="only this outcome"),
            click.option("--user-id", type=USER_ID, help="only this end user's feedback (any Unicode form of the id)"),
            click.option("--version", help="only feedback on runs of this agent version id"),
            click.option(
                "--with-comment/--without-comment",
                "has_comment",
                default=None,
                help="only entries with a comment, or only those without one",
            ),
        ]
    ):
        function = option(function)
    return function


class _NamesItsCommand:
    """A usage error found while parsing this command's own arguments names this command (click leaves the
    context out there, so the message would otherwise name the root: `feedbackctl: error: ...`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc, no-any-return]
        except click.UsageError as exc:
            if exc.ctx is None:
                exc.ctx = ctx
            raise


class Command(_NamesItsCommand, click.Command):
    """A feedbackctl command (use `cls=Command`; a CommandGroup's own commands are of this class)."""


class CommandGroup(_NamesItsCommand, click.Group):
    """A group of commands: listed in the order they were added (related ones together), and a missing
    command is a one-line mistake like any other (not the whole help with exit status 2)."""

    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", False)
        super().__init__(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)
