"""`feedbackctl list | summary | export | erase-user`: read your tenant's feedback through the review API.

Everything printed for a terminal that the server sent (comments, user ids, agent ids, cursors, errors)
goes through terminal.visible; JSON output through terminal.json_text; CSV cells through
spreadsheet.safe_cell.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from agentfeedback.core.errors import ValidationFailed
from agentfeedback.core.ids import canonical_user_id
from feedbackctl.errors import UserError
from feedbackctl.http_client import API_KEY_ENV, API_URL_ENV, FeedbackApiClient, connection_options, path
from feedbackctl.spreadsheet import safe_cell
from feedbackctl.terminal import json_text, visible

PAGE_SIZE = 100  # the API's maximum
_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
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

ENVIRONMENT_HELP = (
    f"environment:\n  {API_KEY_ENV}  an API key of your tenant (required)\n"
    f"  {API_URL_ENV}  the API's base URL (default: the running local stack's, else http://127.0.0.1:3000;\n"
    "  the order is in `feedbackctl --help`)"
)


# --- arguments ----------------------------------------------------------------------------------------


def time_argument(value: str) -> str:
    """An ISO 8601 date or time (passed as is), or a relative one like 30m, 12h, 7d, 2w (that long ago)."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        moment = datetime.now(UTC) - timedelta(**{unit: amount})
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither an ISO 8601 date or time (2026-11-26, 2026-11-26T17:00:00Z) "
            "nor a relative time (30m, 12h, 7d, 2w)"
        ) from None
    return value.strip()


def user_id_argument(value: str) -> str:
    """An end-user id, as typed, once core.ids.canonical_user_id accepts it: a mistake is found before any request.

    It is sent as typed: the server reads any spelling (NFC or NFD, surrounding white space) as the canonical
    id, and also finds entries stored under that exact spelling before ids were canonical.
    """
    try:
        canonical_user_id(value, field="an end-user id")
    except ValidationFailed as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix("Invalid request: ")) from None
    return value


def _scope_options(with_window: bool = True) -> argparse.ArgumentParser:
    scope = argparse.ArgumentParser(add_help=False)
    scope.add_argument("--agent", required=True, help="the agent id")
    scope.add_argument("--tenant", default="_", help="the tenant (default: _ , the API key's own tenant)")
    if with_window:
        scope.add_argument("--since", type=time_argument, help="from this time on (inclusive): ISO 8601, or 7d, 12h")
        scope.add_argument("--until", type=time_argument, help="before this time (exclusive): ISO 8601, or 7d, 12h")
    return scope


def _filter_options() -> argparse.ArgumentParser:
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--outcome", choices=["positive", "negative"], help="only this outcome")
    filters.add_argument(
        "--user-id", type=user_id_argument, help="only this end user's feedback (any Unicode form of the id)"
    )
    filters.add_argument("--version", help="only feedback on runs of this agent version id")
    comments = filters.add_mutually_exclusive_group()
    comments.add_argument(
        "--with-comment", dest="has_comment", action="store_const", const=True, help="only entries with a comment"
    )
    comments.add_argument(
        "--without-comment", dest="has_comment", action="store_const", const=False, help="only entries without one"
    )
    return filters


def _list_params(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "outcome": args.outcome,
        "user_id": args.user_id,
        "version": args.version,
        "has_comment": args.has_comment,
        "since": args.since,
        "until": args.until,
    }


def _feedback_path(args: argparse.Namespace, *rest: str) -> str:
    return path("v1", args.tenant, "agents", args.agent, "feedback", *rest)


def _pages(client: FeedbackApiClient, args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page: dict[str, Any] = client.get(
            _feedback_path(args), {**_list_params(args), "limit": PAGE_SIZE, "cursor": cursor}
        )
        yield page
        cursor = page.get("next_cursor")
        if not cursor:
            return


# --- terminal output ----------------------------------------------------------------------------------


def one_line(text: str | None, width: int) -> str:
    """A comment on one table line: whitespace collapsed, other controls escaped, cut with an ellipsis past `width`."""
    flat = visible(" ".join((text or "").split()))
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def short_time(stamp: str | None) -> str:
    """2026-11-26T17:00:05.123456Z -> 2026-11-26 17:00 (UTC)."""
    return visible((stamp or "")[:16].replace("T", " "))


def short_version(version: str) -> str:
    version = visible(version)
    return version if len(version) <= 10 else version[:8] + "…"


def render_table(headers: list[str], rows: list[list[str]], align_right: frozenset[int] = frozenset()) -> str:
    """Columns padded to their widest cell; every cell is escaped for the terminal before it is measured."""
    rows = [[visible(cell) for cell in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [cell.rjust(widths[i]) if i in align_right else cell.ljust(widths[i]) for i, cell in enumerate(cells)]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)])


def feedback_table(items: list[dict[str, Any]], terminal_width: int) -> str:
    fixed = [
        [
            visible(item["outcome"]),
            short_time(item["created_at"]),
            short_version(item["version"]),
            visible(item["run_id"]),
        ]
        for item in items
    ]
    others = max([len("OUTCOME"), *(len(row[0]) for row in fixed)]) + 16 + 10
    others += max([len("RUN"), *(len(row[3]) for row in fixed)]) + 2 * 4
    comment_width = max(20, terminal_width - others)
    rows = [
        [outcome, date, one_line(item.get("comment"), comment_width) or "-", version, run]
        for (outcome, date, version, run), item in zip(fixed, items, strict=True)
    ]
    return render_table(["OUTCOME", "DATE (UTC)", "COMMENT", "VERSION", "RUN"], rows)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def interval_text(interval: dict[str, float] | None) -> str:
    return "-" if interval is None else f"[{percent(interval['low'])}, {percent(interval['high'])}]"


def count(value: int | None) -> str:
    return "-" if value is None else str(value)


def figures_row(figures: dict[str, Any]) -> list[str]:
    return [
        percent(figures["satisfaction"]),
        interval_text(figures["interval"]),
        str(figures["positive"]),
        str(figures["negative"]),
        str(figures["total"]),
        count(figures["runs"]),
        count(figures["runs_with_feedback"]),
        percent(figures["feedback_share"]),
    ]


FIGURE_HEADERS = ["SATISFACTION", "95% INTERVAL", "POS", "NEG", "VOTES", "RUNS", "RATED", "SHARE"]
FIGURE_RIGHT = frozenset(range(1, 9))


def summary_text(summary: dict[str, Any]) -> str:
    overall = summary["overall"]
    lines = [
        visible(
            f"Agent {summary['agent_id']}"
            + (f", version {summary['version']}" if summary.get("version") else "")
            + f": {short_time(summary['since'])} to {short_time(summary['until'])} UTC"
        ),
        "",
    ]
    if overall["total"]:
        lines.append(
            f"Satisfaction {percent(overall['satisfaction'])} (95% interval {interval_text(overall['interval'])}) "
            f"from {overall['total']} votes: {overall['positive']} positive, {overall['negative']} negative."
        )
    else:
        lines.append("No votes in this window.")
    if overall["runs"] is not None:
        lines.append(
            f"{overall['runs_with_feedback']} of {overall['runs']} runs got feedback "
            f"({percent(overall['feedback_share'])})."
        )
    if summary["by_version"]:
        rows = [
            [row["version"], *figures_row(row), short_time(row["last_feedback_at"])] for row in summary["by_version"]
        ]
        lines += ["", "By version (most recently rated first)"]
        lines.append(render_table(["VERSION", *FIGURE_HEADERS, "LAST VOTE"], rows, FIGURE_RIGHT))
    if summary["by_day"]:
        rows = [[row["day"], *figures_row(row)] for row in summary["by_day"]]
        lines += ["", "By day (UTC, day of the first vote)"]
        lines.append(render_table(["DAY", *FIGURE_HEADERS], rows, FIGURE_RIGHT))
    if summary["by_version"] and summary["by_version"][0]["runs"] is None:
        lines += ["", "RUNS/RATED/SHARE per version: '-' (the runs index does not carry versions)."]
    return "\n".join(lines)


class Progress:
    """A one-line progress counter on stderr, redrawn in place on a terminal; only the final line otherwise."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._live = stream.isatty()
        self.items = 0
        self.pages = 0

    def advance(self, items: int) -> None:
        self.items += items
        self.pages += 1
        if self._live:
            # The total is unknown until the last page, so this counts rather than pretending to a percentage.
            spinner = "|/-\\"[self.pages % 4]
            self._stream.write(f"\r{self._label} {spinner} {self.items:,} items, {self.pages} pages")
            self._stream.flush()

    def finish(self, message: str) -> None:
        if self._live:
            self._stream.write("\r\033[K")
        self._stream.write(message + "\n")
        self._stream.flush()


# --- commands -----------------------------------------------------------------------------------------


def list_command(args: argparse.Namespace) -> int:
    client = FeedbackApiClient.from_args(args)
    items: list[dict[str, Any]] = []
    next_cursor = args.cursor
    # Each request asks for what is still wanted, so the cursor printed at the end resumes exactly there.
    while True:
        wanted = min(args.limit - len(items), PAGE_SIZE)
        page = client.get(_feedback_path(args), {**_list_params(args), "limit": wanted, "cursor": next_cursor})
        items += page["items"]
        next_cursor = page.get("next_cursor")
        if not next_cursor or len(items) >= args.limit:
            break
    if args.json:
        print(json_text({"items": items, "next_cursor": next_cursor}, indent=2))
        return 0
    if not items:
        print("No feedback matches.")
    else:
        print(feedback_table(items, shutil.get_terminal_size((120, 24)).columns))
    if next_cursor:
        print(visible(f"\nMore feedback: add --cursor {next_cursor}"), file=sys.stderr)
    return 0


def summary_command(args: argparse.Namespace) -> int:
    client = FeedbackApiClient.from_args(args)
    params = {"since": args.since, "until": args.until, "version": args.version}
    summary = client.get(_feedback_path(args, "summary"), params)
    print(json_text(summary, indent=2) if args.json else summary_text(summary))
    return 0


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


def export_command(args: argparse.Namespace) -> int:
    client = FeedbackApiClient.from_args(args)
    to_stdout = args.output == "-"
    target = Path(args.output)
    if to_stdout:
        out: TextIO = sys.stdout
        temporary = None
    else:
        if target.is_dir():
            raise UserError(f"--output {target} is a folder; name a file in it")
        out, temporary = _open_partial(target)
    progress = Progress(sys.stderr, "Exporting")
    writer = csv.writer(out) if args.format == "csv" else None
    try:
        if writer is not None:
            writer.writerow(CSV_COLUMNS)
        for page in _pages(client, args):
            _write_items(out, args.format, page["items"], writer)
            progress.advance(len(page["items"]))
        if temporary is not None:
            out.close()
            os.replace(temporary, target)
    except OSError as exc:  # a full disk, a closed pipe: the user's world, not a bug
        _discard(out, temporary)
        progress.finish(f"Export stopped after {progress.items:,} items; nothing was written to {args.output}.")
        if isinstance(exc, BrokenPipeError):
            raise
        raise UserError(f"--output {args.output}: writing failed ({exc.strerror or exc})") from None
    except BaseException:
        _discard(out, temporary)
        progress.finish(f"Export stopped after {progress.items:,} items; nothing was written to {args.output}.")
        raise
    destination = "standard output" if to_stdout else str(target)
    pages = "1 page" if progress.pages == 1 else f"{progress.pages} pages"
    progress.finish(f"Exported {progress.items:,} feedback entries ({pages}) to {destination}.")
    return 0


def _discard(out: TextIO, temporary: Path | None) -> None:
    if temporary is not None:
        out.close()
        temporary.unlink(missing_ok=True)


def erase_user_command(args: argparse.Namespace) -> int:
    where = "your tenant" if args.tenant == "_" else f"tenant {args.tenant}"
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(
                f"this permanently deletes every feedback entry of end user {args.user_id!r} in {where}; "
                "re-run with --yes to confirm."
            )
        question = f"Permanently delete every feedback entry of end user {args.user_id!r} in {where}? [y/N] "
        try:
            answer = input(visible(question))
        except EOFError:  # Ctrl-D: no answer is no
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing erased.", file=sys.stderr)
            return 1
    client = FeedbackApiClient.from_args(args)
    # The id travels in the body: a path cannot carry every id (`.` and `..` segments are dropped on the way).
    result = client.post(path("v1", args.tenant, "feedback", "erasures"), {"user_id": args.user_id})
    erased = result["erased"]
    entries = "entry" if erased == 1 else "entries"
    print(visible(f"Erased {erased} feedback {entries} of end user {result['user_id']!r} in {where}."))
    return 0


def register(subparsers: Any) -> None:
    connection = connection_options()
    scope = _scope_options()
    filters = _filter_options()
    common = {"formatter_class": argparse.RawDescriptionHelpFormatter, "epilog": ENVIRONMENT_HELP}

    listing = subparsers.add_parser(
        "list",
        parents=[connection, scope, filters],
        help="list an agent's feedback, newest first",
        description="List an agent's feedback, newest first: outcome, date, comment, version and run.",
        **common,
    )
    listing.add_argument("--limit", type=_positive_int, default=30, help="rows to show (default 30)")
    listing.add_argument("--cursor", help="continue where an earlier list stopped (printed after the table)")
    listing.add_argument("--json", action="store_true", help="print the entries as JSON, every field")
    listing.set_defaults(handler=list_command)

    summary = subparsers.add_parser(
        "summary",
        parents=[connection, scope],
        help="satisfaction per version and per day, with 95%% intervals",
        description=(
            "Satisfaction = positive / (positive + negative) over current votes (one per run and user), with a\n"
            "95% Wilson interval, per agent version and per day; and the share of runs that got feedback.\n"
            "The window defaults to the last 30 days (at most 366)."
        ),
        **common,
    )
    summary.add_argument("--version", help="only this agent version id")
    summary.add_argument("--json", action="store_true", help="print the API's JSON")
    summary.set_defaults(handler=summary_command)

    export = subparsers.add_parser(
        "export",
        parents=[connection, scope, filters],
        help="write every matching entry to a JSON Lines or CSV file",
        description=(
            "Write every matching feedback entry, newest first, to a file (all pages; progress on stderr).\n"
            "CSV is safe to open in a spreadsheet, whatever its separator: where a cell could begin with\n"
            "= + - @ (after spaces or quotes, also after a , ; tab or line break inside the text), or with a\n"
            "tab or carriage return, a ' is inserted so the spreadsheet shows text instead of running a\n"
            "formula. JSON Lines keeps every value exactly as stored."
        ),
        **common,
    )
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="file format (default jsonl)")
    export.add_argument("--output", "-o", required=True, help="file to write, or - for standard output")
    export.set_defaults(handler=export_command)

    erase = subparsers.add_parser(
        "erase-user",
        parents=[connection],
        help="erase every feedback entry of one end user",
        description="Permanently delete every feedback entry of one end user in the tenant (all agents).",
        **common,
    )
    erase.add_argument(
        "user_id",
        metavar="USER_ID",
        type=user_id_argument,
        help="the end user's id, as your front end sent it (any Unicode form; surrounding spaces are ignored)",
    )
    erase.add_argument("--tenant", default="_", help="the tenant (default: _ , the API key's own tenant)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(handler=erase_user_command)


def _positive_int(value: str) -> int:
    with contextlib.suppress(ValueError):
        number = int(value)
        if number >= 1:
            return number
    raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
