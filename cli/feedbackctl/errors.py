"""The one kind of error the CLI tells the user about, rather than showing a traceback.

`main` catches `UserError` (and its subclasses) in one place and prints `error: MESSAGE` as one line on
stderr, escaped for the terminal, then exits with the error's `exit_status`:

- 2: the command line, a file it names or the environment is wrong (click's usage errors exit with 2 too);
- 1: the API or AWS refused, or could not be reached (`ApiClientError` in http_client.py, `AwsError`).

Anything else that escapes a command is a bug, and keeps its traceback. A message that suggests a
command writes it in backticks, `feedbackctl ...` or `make ...`: tests/unit/cli/test_cli_hints.py runs
every such command through the command-line parser (and looks every make target up in the Makefile).
"""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Something the user can fix; the message says what, in one line, with a hint that works."""

    exit_status = 2


def read_text_file(file_name: str, option: str) -> str:
    """The UTF-8 text of the file `option` names (e.g. "--instructions-file"); UserError if it cannot be read."""
    try:
        return Path(file_name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{option} {file_name}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{option} {file_name}: is a folder, not a file") from None
    except OSError as exc:
        raise UserError(f"{option} {file_name}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{option} {file_name}: not UTF-8 text (byte {exc.start})") from None
