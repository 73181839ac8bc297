"""How feedbackctl draws on a terminal, with rich: consoles, tables, messages, progress and confirmation.

- Colour only where it helps and only on a terminal: rich leaves it out when the output is a file or a pipe,
  and when $NO_COLOR is set (https://no-color.org); $FORCE_COLOR forces it.
- Nothing printed is ever interpreted: the consoles have rich markup, emoji codes and highlighting turned
  off, so a `[bold]` or `:smile:` in a comment is shown as typed, and end-user or server text reaches a
  table or a message only through `cell` / `message`, i.e. through terminal.visible (escape sequences,
  control and bidi characters shown escaped).
- Tables fit the terminal's width ($COLUMNS when not a terminal, else 80): the column marked `flexible`
  shrinks and cuts its text with an ellipsis; the others keep their width. Lines carry no trailing blanks.
- Messages are never wrapped by rich (soft wrap): an error stays one line, however long.
- Progress (export, lists of many pages) is drawn on stderr only when stderr is a terminal, and removed
  when done; scripts get the final one-line message only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console, RenderableType
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.prompt import Confirm
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from feedbackctl.errors import UserError
from feedbackctl.terminal import visible

# A rule under the header and a blank between columns: the layout of `ls -l` or `kubectl get`, easy to cut.
_HEAD_RULE = box.Box("    \n    \n ─  \n    \n    \n    \n    \n    \n")
_HEAD_RULE_ASCII = box.Box("    \n    \n -  \n    \n    \n    \n    \n    \n", ascii=True)

OUTCOME_STYLES = {"positive": "green", "negative": "red"}


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr), built per command so it sees this process's streams and environment."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=False)


def cell(value: object, style: str = "") -> Text:
    """End-user or server text as a table cell: escaped by terminal.visible, never parsed as markup."""
    return Text("" if value is None else visible(value), style=style)


def message(*parts: str | tuple[str, str]) -> Text:
    """A line of text: str parts are escaped (terminal.visible); (text, style) parts are our own labels."""
    line = Text()
    for part in parts:
        if isinstance(part, tuple):
            line.append(part[0], style=part[1])
        else:
            line.append(visible(part))
    return line


@dataclass(frozen=True)
class Column:
    """A table column: its header, alignment, and whether it shrinks (with an ellipsis) to fit the terminal."""

    header: str
    right: bool = False
    flexible: bool = False
    min_width: int | None = None


def table(columns: Sequence[Column], rows: Iterable[Sequence[Text | str]], ascii_rule: bool) -> Table:
    """A table of `rows`; str cells are escaped like `cell`. Only `flexible` columns shrink to fit."""
    grid = Table(
        box=_HEAD_RULE_ASCII if ascii_rule else _HEAD_RULE,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    for column in columns:
        # A flexible column is wrappable as far as rich's layout goes, so it is the one that narrows; its
        # cells say no_wrap themselves, so a long text is cut with an ellipsis instead of taking more lines.
        grid.add_column(
            Text(column.header, no_wrap=True, overflow="ellipsis") if column.flexible else column.header,
            justify="right" if column.right else "left",
            no_wrap=not column.flexible,
            min_width=column.min_width,
        )
    for row in rows:
        cells = [value if isinstance(value, Text) else cell(value) for value in row]
        for index, column in enumerate(columns):
            if column.flexible:
                cells[index].no_wrap, cells[index].overflow = True, "ellipsis"
        grid.add_row(*cells)
    return grid


def print_table(out: Console, columns: Sequence[Column], rows: Iterable[Sequence[Text | str]]) -> None:
    """Print a table made by `table`, each line without trailing blanks; an ASCII rule off a terminal."""
    print_parts(out, [table(columns, rows, ascii_rule=not out.is_terminal)])


def print_parts(out: Console, parts: Iterable[RenderableType]) -> None:
    """Print each part: a Text as one unwrapped line, anything else (a table) as lines without trailing blanks."""
    for part in parts:
        if isinstance(part, Text):
            out.print(part, soft_wrap=True)
            continue
        for line in out.render_lines(part, out.options, pad=False):
            out.print(_trimmed(line), crop=False, soft_wrap=True)


class _Line:
    """One rendered line, and its line break, as a renderable."""

    def __init__(self, segments: list[Segment]) -> None:
        self._segments = segments

    def __rich_console__(self, *_: object) -> Iterator[Segment]:
        yield from self._segments
        yield Segment.line()


def _trimmed(line: list[Segment]) -> _Line:
    segments = list(line)
    while segments and not segments[-1].control and not segments[-1].text.strip():
        segments.pop()
    if segments and not segments[-1].control:
        last = segments[-1]
        segments[-1] = Segment(last.text.rstrip(), last.style)
    return _Line(segments)


def say(text: str | Text, stderr: bool = False) -> None:
    """Print one line on stdout or stderr, never wrapped: a str is escaped (as by `message`), a Text is as built."""
    console(stderr).print(message(text) if isinstance(text, str) else text, soft_wrap=True)


def pages_text(pages: int) -> str:
    return "1 page" if pages == 1 else f"{pages:,} pages"


def paging_progress(label: str, enabled: bool = True) -> Progress:
    """A progress display on stderr for paging through the API (export, long lists): a pulsing bar (the
    total is unknown until the last page), items and pages so far, time.

    Drawn only when `enabled` and stderr is a terminal, and removed at the end (transient): the caller prints
    the outcome. Add one task with `add_task(label, total=None, pages=pages_text(0))`, and after each page
    `update(task, advance=items, pages=pages_text(n), refresh=True)` (redrawn at once, and 10 times a second).
    """
    err = console(stderr=True)
    return Progress(
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed:,.0f} items, {task.fields[pages]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not (enabled and err.is_terminal),
    )


def confirm(question: str, yes: bool, refusal: str) -> bool:
    """Whether to go on with something that cannot be undone.

    True at once with --yes (`yes`). Off a terminal (a script, a pipe) there is nobody to ask: UserError
    saying `refusal` and to re-run with --yes. On a terminal, asks `question` (escaped) with [y/n]; no
    answer (end of input) is no.
    """
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UserError(f"{refusal}; re-run with --yes to confirm.")
    try:
        return Confirm.ask(message(question), console=console(), default=False)
    except EOFError:  # Ctrl-D: no answer is no
        console().print()
        return False
