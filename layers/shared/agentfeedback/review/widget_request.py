"""What the dashboard's feedback widget is asked for, read from a CloudWatch custom widget's event.

CloudWatch invokes a custom widget's function with the widget's parameters at the top of the event and a
`widgetContext` beside them: `params` (the parameters as the dashboard defines them), `forms.all` (the values
of the widget's form fields, when a <cwdb-action> button calls the function), `timeRange` (epoch
milliseconds; `zoom` when the viewer zoomed in), `timezone` (`offsetISO`, `label`) and `theme`. A button's
<cwdb-action> call puts its own JSON parameters at the top of the event instead of the widget's. Source: the
CloudWatch user guide, "Details about custom widgets" and "Interactivity in the custom widget".

Reading never raises: every problem with a parameter is collected (`WidgetFilters.problems`), so that the
widget can show the form again, as typed, with what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from agentfeedback.core.ids import AGENT_ID_PATTERN
from agentfeedback.feedback.validation import OUTCOMES
from agentfeedback.keys.store import TENANT_PATTERN
from agentfeedback.review.models import MAX_PAGE_SIZE
from agentfeedback.review.service import Window

DEFAULT_WIDGET_PAGE_SIZE = 20
MAX_VERSION_CHARS = 64
MAX_RUN_ID_CHARS = 128
FILTER_KEYS = ("tenant", "agent", "outcome", "version", "with_comment")
# Values of the with_comment parameter (the form's select sends "", "true" or "false").
_WITH_COMMENT = {"": None, "any": None, "true": True, "yes": True, "with": True, "false": False, "no": False}
_ANY_OUTCOME = ("", "any", "all")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
# 1 January 2000 and 1 January 9000, in epoch milliseconds: a time range outside them is not a dashboard's.
_EARLIEST_MS, _LATEST_MS = 946_684_800_000, 221_845_392_000_000


def _mapping(value: Any) -> Mapping[str, Any]:
    """An object of the event, or an empty one where the event has something else."""
    return value if isinstance(value, Mapping) else {}


def _millis(value: Any) -> float | None:
    """Epoch milliseconds within the years a dashboard shows; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not _EARLIEST_MS <= value <= _LATEST_MS:
        return None
    return float(value)


def _text(value: Any) -> str | None:
    """A text parameter: None when absent or empty (after trimming); numbers as typed in YAML become text."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value.strip() or None


@dataclass(frozen=True)
class WidgetFilters:
    """Which feedback the page lists. Text fields keep what was typed (the form shows it again)."""

    tenant: str | None = None
    agent: str | None = None
    outcome: str | None = None
    version: str | None = None
    with_comment: bool | None = None
    limit: int = DEFAULT_WIDGET_PAGE_SIZE
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> WidgetFilters:
        problems: list[str] = []

        def text(name: str, pattern: re.Pattern[str] | None, rule: str, max_chars: int = 256) -> str | None:
            raw = values.get(name)
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, str | int | float)):
                problems.append(f"{name}: expected text")
                return None
            value = _text(raw)
            if value is not None and (len(value) > max_chars or (pattern is not None and not pattern.match(value))):
                problems.append(f"{name}: {rule}")
            return value

        tenant = text("tenant", TENANT_PATTERN, "1-63 lowercase letters, digits or dashes")
        agent = text("agent", AGENT_ID_PATTERN, "1-64 lowercase letters, digits, '-' or '_'")
        version = text("version", None, f"at most {MAX_VERSION_CHARS} characters", MAX_VERSION_CHARS)
        outcome = (_text(values.get("outcome")) or "").lower()
        if outcome in _ANY_OUTCOME:
            outcome = ""
        elif outcome not in OUTCOMES:
            problems.append("outcome: use positive, negative, or leave it empty for both")
            outcome = ""
        with_comment = values.get("with_comment")
        if not isinstance(with_comment, bool) and with_comment is not None:
            key = str(with_comment).strip().lower()
            if key in _WITH_COMMENT:
                with_comment = _WITH_COMMENT[key]
            else:
                problems.append("with_comment: use true, false, or leave it empty for both")
                with_comment = None
        limit = values.get("limit", DEFAULT_WIDGET_PAGE_SIZE)
        if limit is None or limit == "":
            limit = DEFAULT_WIDGET_PAGE_SIZE
        if isinstance(limit, str) and limit.strip().isdigit():
            limit = int(limit.strip())
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
            problems.append(f"limit: a whole number from 1 to {MAX_PAGE_SIZE}")
            limit = DEFAULT_WIDGET_PAGE_SIZE
        return cls(
            tenant=tenant,
            agent=agent,
            outcome=outcome or None,
            version=version,
            with_comment=with_comment,
            limit=limit,
            problems=tuple(problems),
        )

    def as_params(self) -> dict[str, Any]:
        """The filters as a <cwdb-action> call's parameters (read back by `read`)."""
        return {
            "tenant": self.tenant,
            "agent": self.agent,
            "outcome": self.outcome,
            "version": self.version,
            "with_comment": self.with_comment,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class Clock:
    """Shows stored UTC times in the dashboard's time zone (its `offsetISO`; UTC when absent or malformed)."""

    offset: timedelta = timedelta(0)
    label: str = "UTC"

    @classmethod
    def read(cls, zone: Any) -> Clock:
        zone = _mapping(zone)
        match = _OFFSET.match(str(zone.get("offsetISO", "")))
        if match is None or int(match.group(2)) > 14 or int(match.group(3)) > 59:
            return cls()
        sign = -1 if match.group(1) == "-" else 1
        offset = sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        utc = "UTC" if not offset else f"UTC{match.group(0)}"
        label = _text(zone.get("label"))
        return cls(offset=offset, label=utc if label in (None, utc) else f"{label[:40]} ({utc})")

    def show(self, moment: datetime | str) -> str:
        """`YYYY-MM-DD HH:MM` in this zone, from a datetime or a stored timestamp."""
        if isinstance(moment, str):
            moment = datetime.strptime(moment[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        return moment.astimezone(timezone(self.offset)).strftime("%Y-%m-%d %H:%M")


def _window(time_range: Any) -> Window:
    """The dashboard's time range (its zoom, if the viewer zoomed in); an open window when absent or malformed."""
    chosen = _mapping(time_range)
    if "zoom" in chosen and isinstance(chosen["zoom"], Mapping):
        chosen = chosen["zoom"]
    start, end = _millis(chosen.get("start")), _millis(chosen.get("end"))
    if start is None or end is None or start >= end:
        return Window(since=None, until=None)
    return Window(since=datetime.fromtimestamp(start / 1000, UTC), until=datetime.fromtimestamp(end / 1000, UTC))


PAGE_ACTION = "page"


@dataclass(frozen=True)
class WidgetRequest:
    """One invocation: a page of feedback (cursor: after the first page), or one run's detail (run_id)."""

    filters: WidgetFilters
    cursor: str | None
    run_id: str | None
    window: Window
    clock: Clock
    dark: bool


def is_describe(event: Mapping[str, Any]) -> bool:
    """CloudWatch's "Get documentation" call: the event has a `describe` parameter."""
    return "describe" in event


def read_widget_event(event: Mapping[str, Any]) -> WidgetRequest:
    """The request in a custom widget's event.

    The widget's own buttons say what they show: a pager or version link (`"action": "page"`) carries the
    filters of its page (and a cursor), a run link (`"run"`) its row's tenant and agent; the form's fields are
    then ignored, so a half-edited form cannot mix with a cursor of other filters. Any other call (the
    dashboard's refresh, or the Apply button) takes the form's fields over the widget's parameters.
    """
    context = _mapping(event.get("widgetContext"))
    configured = _mapping(context.get("params"))
    given = {name: value for name, value in event.items() if name not in ("widgetContext", "describe")}
    form = _mapping(_mapping(context.get("forms")).get("all"))
    called = {**configured, **given}
    run_id = _text(given.get("run"))
    cursor = None
    if run_id is not None:
        filters = WidgetFilters.read(called)
        if len(run_id) > MAX_RUN_ID_CHARS:
            filters = WidgetFilters(problems=(*filters.problems, f"run: at most {MAX_RUN_ID_CHARS} characters"))
    elif given.get("action") == PAGE_ACTION:
        filters = WidgetFilters.read(called)
        cursor = _text(given.get("cursor"))
    else:
        filters = WidgetFilters.read({**called, **{name: form[name] for name in FILTER_KEYS if name in form}})
    return WidgetRequest(
        filters=filters,
        cursor=cursor,
        run_id=run_id,
        window=_window(context.get("timeRange")),
        clock=Clock.read(context.get("timezone")),
        dark=context.get("theme") == "dark",
    )
