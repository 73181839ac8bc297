"""The `feedbackctl` command: an argparse root; each command module adds its subcommands via `register`.

Errors are told in one line on stderr, never as a traceback: a bad command line by `CliParser.error`
(exit status 2), anything a command raises as `UserError` by `main` (its exit_status: 2 for the command
line, a file or the environment, 1 when the API or AWS refused or could not be reached).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from feedbackctl import keys, review, versions
from feedbackctl.errors import UserError
from feedbackctl.http_client import (
    API_KEY_ENV,
    API_URL_ENV,
    API_URL_HELP,
    DEFAULT_API_URL,
    NO_KEY_HINT,
    api_url,
    connection_options,
)
from feedbackctl.terminal import visible

# Each module exposes register(subparsers); its parsers set `handler`, a function (args) -> exit status.
COMMAND_MODULES: tuple[ModuleType, ...] = (review, versions, keys)

EPILOG = f"""\
environment:
  {API_KEY_ENV}  an API key of your tenant
  {API_URL_ENV}  the API's base URL

the API's base URL is the first of:
  1. --api-url URL (before or after the command)
  2. ${API_URL_ENV}
  3. the running local stack's URL, on whatever PORT `make local` started it: read from
     .local/stack.json in the current folder or a folder above it, else in feedbackctl's own checkout
  4. {DEFAULT_API_URL}

exit status: 0 done, 1 the API or AWS refused or could not be reached, 2 a mistake in the command line,
a file it names or the environment (the one-line message says which), 130 interrupted.

`feedbackctl COMMAND --help` describes each command."""


class CliParser(argparse.ArgumentParser):
    """argparse, with a mistake told in one line (and how to get help) rather than usage plus message."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {visible(message)} (see `{self.prog} --help`)\n")


def build_parser() -> CliParser:
    parser = CliParser(
        prog="feedbackctl",
        description="Review end-user feedback on your AI agents: list, summarise, export and erase it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--api-url", default=None, help=API_URL_HELP)
    # Subparsers are made of the parser's own class, so every command's mistakes are one line too.
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    mcp = subparsers.add_parser(
        "mcp",
        parents=[connection_options()],
        help="serve the MCP tools over stdio, for desktop MCP clients",
        description="Run the MCP server on stdin/stdout (an MCP client starts it): read-only tools over the review "
        f"API at the CLI's base URL, with the key in ${API_KEY_ENV}.",
    )
    mcp.set_defaults(handler=_serve_mcp)
    return parser


def _serve_mcp(args: argparse.Namespace) -> int:
    url, source = api_url(args, os.environ)
    key = os.environ.get(API_KEY_ENV)
    if not key:
        raise UserError(NO_KEY_HINT)
    # Imported here: the MCP SDK takes a second to load, and only this command needs it.
    from feedbackctl.mcp_stdio import serve_stdio

    serve_stdio(url, key, source)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"error: {visible(exc)}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `feedbackctl list | head`: the reader left; say nothing, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
