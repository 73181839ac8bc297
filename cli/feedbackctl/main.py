"""The `feedbackctl` command: an argparse root; each command module adds its subcommands via `register`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from feedbackctl import keys, review, versions
from feedbackctl.http_client import API_KEY_ENV, API_URL_ENV, DEFAULT_API_URL, ApiClientError

# Each module exposes register(subparsers); its parsers set `handler`, a function (args) -> exit status.
COMMAND_MODULES: tuple[ModuleType, ...] = (review, versions, keys)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedbackctl",
        description="Review end-user feedback on your AI agents: list, summarise, export and erase it.",
        epilog=(
            f"environment:\n  {API_KEY_ENV}  an API key of your tenant\n"
            f"  {API_URL_ENV}  the API's base URL (default {DEFAULT_API_URL}, the local stack)\n\n"
            "`feedbackctl COMMAND --help` describes each command."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--api-url",
        default=None,
        help=f"base URL of the API, e.g. the stack's ApiUrl output (default: ${API_URL_ENV} or {DEFAULT_API_URL})",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ApiClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `feedbackctl list | head`: the reader left; say nothing, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
