"""HTML of the dashboard's feedback widget: a page of feedback, one run's detail, and the documentation.

Everything that comes from stored data or from the widget's parameters goes through html.escape (text and
attribute values alike), so an end user's comment shows as the text it is: it cannot add markup, links or
<cwdb-action> calls. A <cwdb-action> call's parameters are JSON with <, > and & written as \\u escapes, which
read the same whether CloudWatch takes the element's text or its HTML. No JavaScript is sent (CloudWatch
removes it from a widget anyway). Sources: the CloudWatch user guide, "Details about custom widgets"
(default styles, the `btn` classes) and "Interactivity in the custom widget" (<cwdb-action>).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agentfeedback.review.models import EntryWithHistory, FeedbackItem, Figures, RunDetail
from agentfeedback.review.widget_request import PAGE_ACTION, Clock, WidgetFilters, WidgetRequest

COMMENT_PREVIEW_CHARS = 280
JSON_PREVIEW_CHARS = 4000
SHORT_ID_CHARS = 8

_STYLE = """<style>
.fb { font-size: 13px; line-height: 1.4; }
.fb-filters { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: flex-end; margin: 0 0 4px; }
.fb-filters label { display: flex; flex-direction: column; font-size: 12px; }
.fb table { width: 100%; border-collapse: collapse; }
.fb th, .fb td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #e9ebed; }
.fb-outcome { font-weight: bold; white-space: nowrap; }
.fb-positive { color: #037f0c; }
.fb-negative { color: #d91515; }
.fb-comment { white-space: pre-wrap; overflow-wrap: anywhere; }
.fb-muted { color: #5f6b7a; }
.fb-totals { font-weight: bold; margin: 4px 0; }
.fb-id { font-family: monospace; white-space: nowrap; }
.fb-error { border-left: 4px solid #d91515; padding: 4px 8px; margin: 6px 0; }
.fb-notice { border-left: 4px solid #0972d3; padding: 4px 8px; margin: 6px 0; }
.fb-pager { display: flex; gap: 8px; margin-top: 8px; }
.fb pre { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 20em; overflow: auto; }
.fb-dark .fb-positive { color: #29ad32; }
.fb-dark .fb-negative { color: #ff5d64; }
.fb-dark .fb-muted { color: #8d99a8; }
.fb-dark th, .fb-dark td { border-bottom-color: #414d5c; }
</style>"""

DOCS = """## Agent feedback: user feedback

The current feedback on one agent's runs, newest first: one entry per run and end user (a changed vote shows
once, with its current outcome and comment; an erased end user is gone), given within the dashboard's time
range. Each row shows the outcome, the date, the comment, the version and the run (choose it for the run's
input, output and all its feedback). The form above the table changes the filters; choose a version to see
only its feedback. Above the table, the totals: current votes and satisfaction (with its 95% Wilson interval)
over the whole UTC days the time range touches, of the chosen version or all, both outcomes (from the
pre-aggregated daily counts, as the review API's summary).

### Widget parameters
Param | Description
---|---
**tenant** | The tenant (as in the API keys)
**agent** | The agent id
**outcome** | `positive`, `negative`, or empty for both
**version** | An agent version id, or empty for all versions
**with_comment** | `true`: only entries with a comment; `false`: only those without; empty: both
**limit** | Entries per page, 1 to 100 (default 20)

### Example parameters
``` yaml
tenant: acme
agent: support-bot
outcome: negative
with_comment: true
limit: 20
```
"""


def _e(value: object) -> str:
    """Text or an attribute value, escaped (quotes included)."""
    return html.escape(str(value), quote=True)


def call_parameters(values: Mapping[str, Any]) -> str:
    """A <cwdb-action> call's parameters: JSON with no character that HTML would read as markup."""
    text = json.dumps(dict(values), ensure_ascii=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _call(function_arn: str, values: Mapping[str, Any], popup: bool = False) -> str:
    display = ' display="popup"' if popup else ""
    return f'<cwdb-action action="call"{display} endpoint="{_e(function_arn)}">{call_parameters(values)}</cwdb-action>'


def _popup(inner_html: str) -> str:
    return f'<cwdb-action action="html" display="popup">{inner_html}</cwdb-action>'


def _short(identifier: str) -> str:
    """A version id's first characters (a hash: they tell versions apart). Run ids are shown whole: they are
    UUIDv7, whose first characters are a timestamp shared by the runs of one minute."""
    return identifier if len(identifier) <= SHORT_ID_CHARS + 1 else identifier[:SHORT_ID_CHARS] + "…"


def _link(text: str, title: str) -> str:
    """The element a <cwdb-action> right after it acts on (an anchor without href: it runs no navigation)."""
    return f'<a class="fb-id" title="{_e(title)}">{_e(text)}</a>'


def _outcome(outcome: str) -> str:
    mark, word = ("▲", "Positive") if outcome == "positive" else ("▼", "Negative")
    return f'<span class="fb-outcome fb-{_e(outcome)}">{mark} {word}</span>'


def _frame(dark: bool, body: str) -> str:
    theme = " fb-dark" if dark else ""
    return f'{_STYLE}<div class="fb{theme}">{body}</div>'


def _message(kind: str, text: str) -> str:
    role = ' role="alert"' if kind == "error" else ""
    return f'<p class="fb-{kind}"{role}>{_e(text)}</p>'


def _select(name: str, label: str, chosen: str, options: Iterable[tuple[str, str]]) -> str:
    rendered = "".join(
        f'<option value="{_e(value)}"{" selected" if value == chosen else ""}>{_e(text)}</option>'
        for value, text in options
    )
    return f'<label>{_e(label)}<select name="{_e(name)}">{rendered}</select></label>'


def _input(name: str, label: str, value: str | None, size: int) -> str:
    return f'<label>{_e(label)}<input name="{_e(name)}" value="{_e(value or "")}" size="{size}"></label>'


def _form(filters: WidgetFilters, function_arn: str) -> str:
    with_comment = {None: "", True: "true", False: "false"}[filters.with_comment]
    fields = "".join(
        (
            _input("tenant", "Tenant", filters.tenant, 12),
            _input("agent", "Agent", filters.agent, 18),
            _select(
                "outcome",
                "Outcome",
                filters.outcome or "",
                (("", "positive and negative"), ("positive", "positive"), ("negative", "negative")),
            ),
            _input("version", "Version", filters.version, 14),
            _select(
                "with_comment",
                "Comment",
                with_comment,
                (("", "with or without"), ("true", "with a comment"), ("false", "without a comment")),
            ),
        )
    )
    apply = f'<a class="btn btn-primary">Apply</a>{_call(function_arn, {"action": "apply"})}'
    return f'<form class="fb-filters">{fields}</form>{apply}'


def _window_text(request: WidgetRequest) -> str:
    window, clock = request.window, request.clock
    if window.since and window.until:
        return f"first given between {clock.show(window.since)} and {clock.show(window.until)} ({clock.label})"
    return f"at any time (times in {clock.label})"


def _comment_cell(comment: str | None) -> str:
    if not comment:
        return '<td class="fb-comment fb-muted">no comment</td>'
    if len(comment) <= COMMENT_PREVIEW_CHARS:
        return f'<td class="fb-comment">{_e(comment)}</td>'
    whole = _popup(f'<p class="fb-comment">{_e(comment)}</p>')
    preview = _e(comment[:COMMENT_PREVIEW_CHARS].rstrip())
    return f'<td class="fb-comment">{preview}… <a>whole comment</a>{whole}</td>'


def _date_cell(item: FeedbackItem | EntryWithHistory, clock: Clock) -> str:
    changed = ""
    if item.revision > 1:
        changed = f'<br><small class="fb-muted">changed {_e(clock.show(item.updated_at))}</small>'
    return f'<td class="fb-id">{_e(clock.show(item.created_at))}{changed}</td>'


def _row(item: FeedbackItem, request: WidgetRequest, function_arn: str) -> str:
    filters = request.filters
    version_call = _call(function_arn, {"action": PAGE_ACTION, **filters.as_params(), "version": item.version})
    run_call = _call(function_arn, {"run": item.run_id, "tenant": filters.tenant, "agent": filters.agent}, popup=True)
    return (
        "<tr>"
        f"<td>{_outcome(item.outcome)}</td>"
        f"{_date_cell(item, request.clock)}"
        f"{_comment_cell(item.comment)}"
        f"<td>{_link(_short(item.version), f'Only version {item.version}')}{version_call}</td>"
        f"<td>{_link(item.run_id, 'Its input, output and all its feedback')}{run_call}</td>"
        "</tr>"
    )


@dataclass(frozen=True)
class Totals:
    """The page's totals: the current votes of whole UTC days [since, until) (midnights), of one version or all;
    or, when they could not be read for the page's range, a note saying why."""

    since: datetime | None = None
    until: datetime | None = None
    figures: Figures | None = None
    version: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class PageView:
    """What one page of the widget shows. `items` is None when nothing was listed (filters missing or wrong)."""

    request: WidgetRequest
    function_arn: str
    items: Sequence[FeedbackItem] | None = None
    next_cursor: str | None = None
    error: str | None = None
    notice: str | None = None
    totals: Totals | None = None


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def totals_text(totals: Totals) -> str:
    """One line: how many current votes, of which outcome, and satisfaction with its 95% Wilson interval."""
    if totals.note is not None or totals.figures is None or totals.since is None or totals.until is None:
        return totals.note or ""
    figures = totals.figures
    last_day = totals.until - timedelta(days=1)
    days = f"UTC days {totals.since:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    if totals.since == last_day:
        days = f"UTC day {totals.since:%Y-%m-%d}"
    scope = f"version {totals.version}" if totals.version else "every version"
    votes = "vote" if figures.total == 1 else "votes"
    text = f"Totals, {days} (whole days), {scope}, both outcomes: {figures.total} current {votes}"
    if figures.satisfaction is None or figures.interval is None:
        return text + "."
    return (
        f"{text}, {figures.positive} positive, {figures.negative} negative; satisfaction "
        f"{_percent(figures.satisfaction)} (95% interval {_percent(figures.interval.low)} to "
        f"{_percent(figures.interval.high)})."
    )


def page_html(view: PageView) -> str:
    """The form, a message if any, and the table of feedback with its pager."""
    request, arn = view.request, view.function_arn
    filters = request.filters
    parts = [_form(filters, arn)]
    if view.error:
        parts.append(_message("error", view.error))
    if view.notice:
        parts.append(_message("notice", view.notice))
    if view.items is None:
        if not view.error:
            parts.append(_message("notice", "Enter a tenant and an agent, then choose Apply."))
        return _frame(request.dark, "".join(parts))
    shown = f"agent {filters.agent} of tenant {filters.tenant}"
    if view.totals is not None:
        parts.append(f'<p class="fb-totals">{_e(totals_text(view.totals))}</p>')
    if not view.items:
        parts.append(f'<p class="fb-muted">No feedback on {_e(shown)} matches, {_e(_window_text(request))}.</p>')
    else:
        later = " (a later page)" if request.cursor else ""
        summary = f"{len(view.items)} entries on {shown}{later}, newest first, {_window_text(request)}."
        rows = "".join(_row(item, request, arn) for item in view.items)
        parts.append(
            f'<p class="fb-muted">{_e(summary)}</p>'
            '<table><thead><tr><th scope="col">Outcome</th><th scope="col">Date</th><th scope="col">Comment</th>'
            '<th scope="col">Version</th><th scope="col">Run</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    pager = []
    page = {"action": PAGE_ACTION, **filters.as_params()}
    if request.cursor:
        pager.append(f'<a class="btn">First page</a>{_call(arn, page)}')
    if view.next_cursor:
        pager.append(f'<a class="btn btn-primary">Next page</a>{_call(arn, {**page, "cursor": view.next_cursor})}')
    if pager:
        parts.append(f'<div class="fb-pager">{"".join(pager)}</div>')
    return _frame(request.dark, "".join(parts))


def _json_block(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > JSON_PREVIEW_CHARS:
        text = (
            text[:JSON_PREVIEW_CHARS]
            + f"\n… ({len(text) - JSON_PREVIEW_CHARS} more characters: the review API has all)"
        )
    return f"<pre>{_e(text)}</pre>"


def _feedback_table(entries: Sequence[FeedbackItem | EntryWithHistory], clock: Clock) -> str:
    # Current votes only: a retracted vote's entry (outcome null) is kept for its history, not shown here.
    items = [entry for entry in entries if entry.outcome is not None]
    if not items:
        return '<p class="fb-muted">No feedback on this run.</p>'
    rows = "".join(
        f"<tr><td>{_outcome(item.outcome or '')}</td>{_date_cell(item, clock)}"
        f'<td class="fb-id">{_e(item.user_id) if item.user_id else "anonymous"}</td>'
        f'<td class="fb-comment">{_e(item.comment or "")}</td></tr>'
        for item in items
    )
    return (
        '<table><thead><tr><th scope="col">Outcome</th><th scope="col">Date</th><th scope="col">End user</th>'
        f'<th scope="col">Comment</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def run_html(detail: RunDetail, request: WidgetRequest) -> str:
    """One run: what it was asked and answered, its version, cost and duration, and all its current feedback."""
    clock = request.clock
    facts = (
        ("Run", detail.id),
        ("Agent", detail.agent_id),
        ("Version", detail.version.id),
        ("Model", detail.model),
        ("Created", f"{clock.show(detail.created_at)} ({clock.label})"),
        ("Cost", f"{detail.cost_usd:.6f} USD ({detail.input_tokens} input + {detail.output_tokens} output tokens)"),
        ("Duration", f"{detail.duration_seconds:.2f} s"),
    )
    rows = "".join(
        f'<tr><th scope="row">{_e(name)}</th><td class="fb-id">{_e(value)}</td></tr>' for name, value in facts
    )
    instructions = detail.version.properties.get("instructions")
    return _frame(
        request.dark,
        f"<h2>Run {_e(detail.id)}</h2><table><tbody>{rows}</tbody></table>"
        + (f"<h3>Instructions</h3><pre>{_e(instructions)}</pre>" if instructions else "")
        + f"<h3>Input</h3>{_json_block(detail.task_input)}"
        + f"<h3>Output</h3>{_json_block(detail.task_output)}"
        + f"<h3>Feedback ({_current(detail.feedback)})</h3>{_feedback_table(detail.feedback, clock)}",
    )


def _current(entries: Sequence[FeedbackItem | EntryWithHistory]) -> int:
    return sum(entry.outcome is not None for entry in entries)


def run_feedback_html(
    run_id: str, items: Sequence[FeedbackItem | EntryWithHistory], request: WidgetRequest, why: str
) -> str:
    """The feedback of a run that is no longer stored (runs expire; feedback stays)."""
    return _frame(
        request.dark,
        f"<h2>Run {_e(run_id)}</h2>{_message('notice', why)}"
        f"<h3>Feedback ({_current(items)})</h3>{_feedback_table(items, request.clock)}",
    )


def error_html(message: str, dark: bool = False) -> str:
    """A message in place of the widget's content (a popup's, or one with no form to show)."""
    return _frame(dark, _message("error", message))
