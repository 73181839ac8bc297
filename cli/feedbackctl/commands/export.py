"""`feedbackctl export`: every matching feedback entry to a JSON Lines or CSV file, with progress on stderr.

JSON Lines keeps the exact values (terminal.json_text, harmless if it lands on a terminal); CSV cells go
through spreadsheet.safe_cell (and terminal.visible too when the CSV goes to a terminal).
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import click

from feedbackctl import output
from feedbackctl.commands.review import ENVIRONMENT_HELP, PAGE_SIZE, feedback_path, list_params
from feedbackctl.errors import UserError
from feedbackctl.options import (
    Command,
    agent_option,
    api_url_option,
    connect,
    filter_options,
    tenant_option,
    window_options,
)
from feedbackctl.spreadsheet import safe_cell
from feedbackctl.terminal import json_text, visible

CSV_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "outcome",
    "comment",
    "user_id",
    "version",
    "run_id",
    "agent_id",
    "revision",
)


def csv_row(item: dict[str, Any], on_terminal: bool = False) -> list[Any]:
    """The CSV cells of one entry, in CSV_COLUMNS order: text made spreadsheet-safe, and visible on a terminal."""
    cells: list[Any] = []
    for column in CSV_COLUMNS:
        value = item.get(column)
        if isinstance(value, str):
            value = safe_cell(value)
            value = visible(value) if on_terminal else value
        cells.append(value)
    return cells


def _write_items(out: TextIO, export_format: str, items: list[dict[str, Any]], writer: Any) -> None:
    if export_format == "jsonl":
        for item in items:
            # The exact values, as JSON; json_text also keeps the line harmless if it lands on a terminal.
            out.write(json_text(item) + "\n")
    else:
        on_terminal = out.isatty()
        for item in items:
            writer.writerow(csv_row(item, on_terminal))


def _open_partial(target: Path) -> tuple[TextIO, Path]:
    """A new file next to `target`, renamed onto it at the end, so a failed export never leaves half a file."""
    if not target.parent.is_dir():
        raise UserError(f"--output {target}: {target.parent} is not a folder; create it or choose another --output")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as exc:
        raise UserError(f"--output {target}: cannot write in {target.parent} ({exc.strerror or exc})") from None
    # backslashreplace: a lone surrogate (possible in JSON, impossible in UTF-8) is written as \udXXX text.
    return os.fdopen(handle, "w", encoding="utf-8", newline="", errors="backslashreplace"), Path(name)


def _discard(out: TextIO, temporary: Path | None) -> None:
    if temporary is not None:
        out.close()
        temporary.unlink(missing_ok=True)


@click.command(
    "export", cls=Command, epilog=ENVIRONMENT_HELP, short_help="write every matching entry to a JSON Lines or CSV file"
)
@agent_option
@tenant_option
@window_options
@filter_options
@click.option(
    "--format",
    "export_format",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="file format",
)
@click.option("--output", "-o", "output_name", required=True, help="file to write, or - for standard output")
@api_url_option
def export_command(
    agent: str, tenant: str, export_format: str, output_name: str, api_url: str | None, **filters: Any
) -> None:
    """Write every matching feedback entry, newest first, to a JSON Lines or CSV file.

    All pages are read (a progress bar on stderr, on a terminal). The file appears only when the export is
    complete: a failed export leaves no half file. CSV is safe to open in a spreadsheet, whatever its
    separator: where a cell could begin with = + - @ (after spaces or quotes, also after a , ; tab or line
    break inside the text), or with a tab or carriage return, a ' is inserted so the spreadsheet shows text
    instead of running a formula. JSON Lines keeps every value exactly as stored.

    \b
    Examples:
      $ feedbackctl export --agent support-bot -o feedback.jsonl
      $ feedbackctl export --agent support-bot --format csv --outcome negative --since 30d -o negative.csv
      $ feedbackctl export --agent support-bot -o -
    """
    client = connect(api_url)
    to_stdout = output_name == "-"
    target = Path(output_name)
    temporary: Path | None = None
    if to_stdout:
        out: TextIO = sys.stdout
    else:
        if target.is_dir():
            raise UserError(f"--output {target} is a folder; name a file in it")
        out, temporary = _open_partial(target)
    writer = csv.writer(out) if export_format == "csv" else None
    items = pages = 0
    # Not while the entries themselves go to the terminal: the bar would be drawn among them.
    progress = output.paging_progress("Exporting", enabled=not (to_stdout and sys.stdout.isatty()))
    try:
        with progress:
            task = progress.add_task("export", total=None, pages=output.pages_text(0))
            if writer is not None:
                writer.writerow(CSV_COLUMNS)
            for page, _ in client.pages(feedback_path(tenant, agent), list_params(**filters), PAGE_SIZE):
                _write_items(out, export_format, page, writer)
                items, pages = items + len(page), pages + 1
                progress.update(task, advance=len(page), pages=output.pages_text(pages), refresh=True)
            if temporary is not None:
                out.close()
                os.replace(temporary, target)
    except BaseException as exc:
        _discard(out, temporary)
        output.say(f"Export stopped after {items:,} items; nothing was written to {output_name}.", stderr=True)
        # A full disk is the user's world, not a bug; a closed pipe (`| head`) is handled by main.
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise UserError(f"--output {output_name}: writing failed ({exc.strerror or exc})") from None
        raise
    destination = "standard output" if to_stdout else str(target)
    output.say(f"Exported {items:,} feedback entries ({output.pages_text(pages)}) to {destination}.", stderr=True)


COMMANDS = [export_command]
