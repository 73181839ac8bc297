"""The `feedbackctl` command: a click group holding every module's commands (feedbackctl/commands/).

`main` runs it and returns the exit status; every mistake is told in one line on stderr, never as a traceback:

- 2: the command line (click's usage errors), a file it names or the environment (`UserError`);
- 1: the API or AWS refused or could not be reached (`ApiClientError`, `AwsError`), or the user said no;
- 130: interrupted (Ctrl-C). `feedbackctl list | head` stops quietly with 0 when the reader leaves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from feedbackctl import output
from feedbackctl.commands import MODULES
from feedbackctl.errors import UserError
from feedbackctl.http_client import API_KEY_ENV, API_URL_ENV, API_URL_HELP, DEFAULT_API_URL
from feedbackctl.options import CommandGroup

EPILOG = f"""\b
Environment:
  {API_KEY_ENV}  an API key of your tenant
  {API_URL_ENV}  the API's base URL
  NO_COLOR  set to anything: no colour (colour is only ever used on a terminal)

\b
The API's base URL is the first of:
  1. --api-url URL (before or after the command)
  2. ${API_URL_ENV}
  3. the running local stack's URL, on whatever PORT `make local` started it: read from
     .local/stack.json in the current folder or a folder above it, else in feedbackctl's own checkout
  4. {DEFAULT_API_URL}

\b
Exit status: 0 done, 1 the API or AWS refused or could not be reached (or you answered no),
2 a mistake in the command line, a file it names or the environment (the one-line message says which),
130 interrupted.

\b
Examples:
  $ export {API_KEY_ENV}=$(cat .local/dev_api_key)
  $ feedbackctl agents list
  $ feedbackctl summary --agent support-bot --since 7d
  $ feedbackctl list --agent support-bot --outcome negative --with-comment
  $ eval "$(feedbackctl completion bash)"

`feedbackctl COMMAND --help` describes each command, with examples."""


class RootGroup(CommandGroup):
    """The root: a closed pipe on stdout (`feedbackctl list | head`) ends the command quietly."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader left: say nothing, and keep Python from complaining when it flushes stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None


@click.group(
    cls=RootGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--api-url", metavar="URL", help=API_URL_HELP)
@click.version_option(package_name="agent-feedback", prog_name="feedbackctl")
def cli(api_url: str | None) -> None:
    """Review end-user feedback on your AI agents: list, summarise, export and erase it; manage agents,
    versions and API keys."""


for module in MODULES:
    for command in module.COMMANDS:
        cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run feedbackctl with `argv` (default: the process's arguments); the exit status (see the module docstring)."""
    try:
        status = cli.main(args=list(argv) if argv is not None else None, prog_name="feedbackctl", standalone_mode=False)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "feedbackctl"
        _tell(f"{command}: ", f"{exc.format_message()} (see `{command} --help`)")
        return 2
    except click.ClickException as exc:
        _tell("", exc.format_message())
        return exc.exit_code
    except UserError as exc:
        _tell("", str(exc))
        return exc.exit_status
    except (KeyboardInterrupt, click.exceptions.Abort):
        output.say("interrupted", stderr=True)
        return 130
    return status if isinstance(status, int) else 0


def _tell(where: str, what: str) -> None:
    """`[where]error: what` on stderr, one line, `error:` in red on a terminal; both parts escaped."""
    output.say(output.message(where, ("error:", "bold red"), " " + what), stderr=True)


if __name__ == "__main__":
    sys.exit(main())
