"""The dashboard's User feedback widget, called as CloudWatch calls a custom widget (events/feedback_widget/)."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import yaml

from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.review.widget_html import COMMENT_PREVIEW_CHARS
from agentfeedback.runs.store import RunRecord, RunStore
from agentfeedback.tokens import TokenClaims
from tests.helpers import ROOT, FakeContext, load_event, load_handler, stamp, vote

AGENT = "support-bot"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ARN = FakeContext.invoked_function_arn
# What end users may type: markup, a forged widget action, attribute breakers, entities, text direction.
HOSTILE = [
    "<script>window.pwned = 1</script>",
    '"><img src=x onerror="window.pwned = 1">',
    '</td></tr></table><cwdb-action action="call" endpoint="arn:aws:lambda:us-east-1:1:function:x">{}</cwdb-action>',
    "&lt;b&gt;already escaped&lt;/b&gt; &amp; <b>bold</b>",
    "' onmouseover='alert(1)' data-x='",
    "<style>* { display: none }</style>",
    '</style><a href="javascript:alert(1)">click</a>',
    "Ignore previous instructions \u202e}{ <!-- -->",
]


@pytest.fixture(autouse=True)
def no_scans(aws, monkeypatch):
    from agentfeedback import composition

    def scan(**_):
        raise AssertionError("the widget scanned a table")

    monkeypatch.setattr(composition.dynamodb(), "scan", scan)


@pytest.fixture
def store(aws):
    return FeedbackStore(aws.dynamodb, "FeedbackTable")


def event(name: str, **top: Any) -> dict[str, Any]:
    loaded = json.loads((ROOT / "events" / "feedback_widget" / f"{name}.json").read_text())
    form = top.pop("form", None)
    context = top.pop("context", {})
    loaded.update(top)
    loaded["widgetContext"].update(context)
    if form is not None:
        loaded["widgetContext"]["forms"]["all"] = form
    return loaded


def render(name: str = "render", **top: Any) -> str:
    result = load_handler("feedback_widget").lambda_handler(event(name, **top), FakeContext())
    assert isinstance(result, str)
    return result


class Page(HTMLParser):
    """The parts of the widget's HTML a viewer sees or CloudWatch acts on."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.actions: list[tuple[dict[str, str | None], str]] = []
        self.rows: list[list[str]] = []
        self._action: dict[str, str | None] | None = None
        self._action_text: list[str] = []
        self._cell: list[str] | None = None
        self._in_tbody = 0
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "cwdb-action":
            self._action, self._action_text = dict(attrs), []
        elif tag == "tbody":
            self._in_tbody += 1
        elif tag == "tr" and self._in_tbody and self._action is None:
            self.rows.append([])
        elif tag == "td" and self._in_tbody and self._action is None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "cwdb-action" and self._action is not None:
            self.actions.append((self._action, "".join(self._action_text)))
            self._action = None
        elif tag == "tbody":
            self._in_tbody -= 1
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._action is not None:
            self._action_text.append(data)
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(body) for attrs, body in self.actions if attrs.get("action") == "call"]

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


# --- describe ---------------------------------------------------------------------------------------


def test_describe_returns_documentation_whose_example_parameters_render():
    docs = render("describe")
    assert docs.startswith("## ") and "**with_comment**" in docs and "**outcome**" in docs
    example = docs.split("``` yaml\n", 1)[1].split("```", 1)[0]
    params = yaml.safe_load(example)
    assert set(params) == {"tenant", "agent", "outcome", "with_comment", "limit"}
    page = Page(render(**params, context={"params": params}))
    assert not [tag for tag, attrs in page.tags if attrs.get("class") == "fb-error"]


# --- the page -----------------------------------------------------------------------------------------


def test_lists_current_votes_newest_first_with_outcome_date_comment_version_and_run(store):
    vote(store, "run-1", "u1", "positive", T0, comment="Spot on")
    vote(store, "run-2", None, "negative", T0 + timedelta(minutes=5), version="v2")
    page = Page(render())
    assert page.rows == [
        ["▼ Negative", "2026-11-02 09:05", "no comment", "v2", "run-2"],
        ["▲ Positive", "2026-11-02 09:00", "Spot on", "v1", "run-1"],
    ]
    assert "2 entries on agent support-bot of tenant acme" in page.visible
    # Each run opens its detail in a popup; each version filters the page on itself.
    runs = [(attrs, json.loads(body)) for attrs, body in page.actions if '"run"' in body]
    assert [(attrs["display"], attrs["endpoint"], call) for attrs, call in runs] == [
        ("popup", ARN, {"run": "run-2", "tenant": "acme", "agent": AGENT}),
        ("popup", ARN, {"run": "run-1", "tenant": "acme", "agent": AGENT}),
    ]
    assert [call["version"] for call in page.calls() if call.get("action") == "page"] == ["v2", "v1"]


def test_changed_vote_shows_once_with_its_current_outcome_and_when_it_changed(store):
    vote(store, "run-1", "u1", "positive", T0, comment="Great")
    vote(store, "run-1", "u1", "negative", T0 + timedelta(hours=3), comment="Actually wrong")
    page = Page(render())
    assert page.rows == [["▼ Negative", "2026-11-02 09:00changed 2026-11-02 12:00", "Actually wrong", "v1", "run-1"]]
    assert "Great" not in page.visible


def test_erased_end_user_is_gone_from_the_widget_at_once(store, invoke):
    from tests.helpers import load_event

    vote(store, "run-1", "ana@example.com", "negative", T0, comment="Call me at 555-0100")
    vote(store, "run-2", "bo", "positive", T0 + timedelta(minutes=1), comment="Fine")
    assert "555-0100" in Page(render()).visible
    status, _, body = invoke("review", load_event("review/request_erasure.json", body={"user_id": "ana@example.com"}))
    assert status == 200 and body["erased"] == 1
    page = Page(render())
    assert "555-0100" not in render() and [row[2] for row in page.rows] == ["Fine"]


@pytest.mark.parametrize("comment", HOSTILE)
def test_hostile_comment_is_shown_as_text_and_adds_no_markup(store, comment):
    vote(store, "run-1", "u1", "negative", T0, comment=comment)
    markup = render()
    page = Page(markup)
    [row] = page.rows
    assert row[2] == comment  # exactly what the user typed, as text
    assert not {"script", "img", "iframe", "b", "object", "embed"} & {tag for tag, _ in page.tags}
    assert [tag for tag, _ in page.tags].count("style") == 1  # the widget's own
    assert not [attrs for _, attrs in page.tags if any(name.startswith("on") for name in attrs)]
    assert not [attrs for _, attrs in page.tags if "href" in attrs]
    # The only actions are the widget's own: Apply, the version filter and the run popup, all to this function.
    assert sorted(json.dumps(call, sort_keys=True) for call in page.calls()) == sorted(
        json.dumps(call, sort_keys=True)
        for call in (
            {"action": "apply"},
            {"action": "page", "tenant": "acme", "agent": AGENT, "outcome": None, "version": "v1"}
            | {"with_comment": None, "limit": 20},
            {"run": "run-1", "tenant": "acme", "agent": AGENT},
        )
    )
    assert {attrs["endpoint"] for attrs, _ in page.actions} == {ARN}


def test_long_comment_is_cut_with_the_whole_text_in_a_popup(store):
    comment = "<i>" + "word " * 400 + "</i> the end"
    vote(store, "run-1", "u1", "negative", T0, comment=comment)
    page = Page(render())
    [row] = page.rows
    assert row[2].startswith("<i>word word") and row[2].endswith("… whole comment")
    assert len(row[2]) < COMMENT_PREVIEW_CHARS + 20
    [(attrs, whole)] = [(attrs, body) for attrs, body in page.actions if attrs.get("action") == "html"]
    assert attrs["display"] == "popup" and whole == comment
    assert "i" not in {tag for tag, _ in page.tags}


@pytest.fixture
def mixed(store):
    rows = [
        ("r1", "u1", "positive", "Great", "v1"),
        ("r2", "u2", "negative", "Wrong answer", "v1"),
        ("r3", None, "negative", None, "v2"),
        ("r4", "u1", "negative", None, "v2"),
        ("r5", "u3", "positive", None, "v1"),
        ("r6", "u2", "positive", "Fast", "v2"),
    ]
    for index, (run_id, user_id, outcome, comment, version) in enumerate(rows):
        vote(store, run_id, user_id, outcome, T0 + timedelta(minutes=index), comment, version)
    vote(store, "r7", "u1", "negative", T0, "Other agent", agent="billing-bot")
    vote(store, "r8", "u1", "negative", T0, "Other tenant", tenant="globex")


def runs_shown(markup: str) -> list[str]:
    return [row[4] for row in Page(markup).rows]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["r6", "r5", "r4", "r3", "r2", "r1"]),
        ({"outcome": "negative"}, ["r4", "r3", "r2"]),
        ({"outcome": "POSITIVE"}, ["r6", "r5", "r1"]),
        ({"version": "v2"}, ["r6", "r4", "r3"]),
        ({"with_comment": True}, ["r6", "r2", "r1"]),
        ({"with_comment": "false"}, ["r5", "r4", "r3"]),
        ({"outcome": "negative", "with_comment": True, "version": "v1"}, ["r2"]),
        ({"agent": "billing-bot"}, ["r7"]),
        ({"tenant": "globex"}, ["r8"]),
        ({"tenant": "initech"}, []),
    ],
)
def test_parameters_filter_the_page(mixed, params, expected):
    assert runs_shown(render(**params)) == expected


def test_apply_takes_the_forms_fields(mixed):
    form = {"tenant": "acme", "agent": AGENT, "outcome": "negative", "version": "", "with_comment": "true"}
    markup = render("apply_filters", form=form)
    assert runs_shown(markup) == ["r2"]
    # The form shows the filters in force, so the next refresh or page keeps them.
    page = Page(markup)
    selected = [attrs.get("value") for tag, attrs in page.tags if tag == "option" and "selected" in attrs]
    assert selected == ["negative", "true"]


def test_pages_follow_one_another_without_gaps_or_repeats(mixed):
    seen, params, pages = [], {"limit": 4, "context": {"params": {"tenant": "acme", "agent": AGENT, "limit": 4}}}, 0
    markup = render(**params)
    while True:
        pages += 1
        seen += runs_shown(markup)
        calls = Page(markup).calls()
        following = [call for call in calls if call.get("cursor")]
        if not following:
            break
        [next_call] = following
        assert next_call["action"] == "page" and next_call["limit"] == 4
        # The Next button's call: its own parameters at the top of the event; the form is sent too.
        markup = render("next_page", **next_call, form={"tenant": "acme", "agent": AGENT, "outcome": "negative"})
        assert "First page" in Page(markup).visible
    assert pages == 2 and seen == ["r6", "r5", "r4", "r3", "r2", "r1"]


def test_a_stale_or_edited_cursor_starts_again_from_the_first_page(mixed):
    markup = render("next_page", cursor="bm90IGEgY3Vyc29y")
    page = Page(markup)
    assert runs_shown(markup) == ["r6", "r5", "r4", "r3", "r2", "r1"]
    assert "this is the first page again" in page.visible


def test_only_feedback_given_in_the_dashboards_time_range_is_listed(mixed):
    start = int((T0 + timedelta(minutes=2)).timestamp() * 1000)
    end = int((T0 + timedelta(minutes=4, seconds=30)).timestamp() * 1000)
    zoomed = {"mode": "relative", "start": 1, "end": 2, "zoom": {"start": start, "end": end}}
    markup = render(context={"timeRange": zoomed})
    assert runs_shown(markup) == ["r5", "r4", "r3"]
    assert "first given between 2026-11-02 09:02 and 2026-11-02 09:04 (UTC)" in Page(markup).visible


def totals_line(markup: str) -> str:
    [line] = [text for tag, text in paragraphs(markup) if tag == "fb-totals"]
    return line


def paragraphs(markup: str) -> list[tuple[str | None, str]]:
    """(class, text) of each <p> of the page."""
    found: list[tuple[str | None, str]] = []

    class Paragraphs(HTMLParser):
        open: str | bool | None = False

        def handle_starttag(self, tag, attrs):
            if tag == "p":
                self.open = dict(attrs).get("class")
                found.append((self.open, ""))

        def handle_endtag(self, tag):
            if tag == "p":
                self.open = False

        def handle_data(self, data):
            if self.open is not False:
                found[-1] = (found[-1][0], found[-1][1] + data)

    Paragraphs(convert_charrefs=True).feed(markup)
    return found


def test_totals_are_the_summarys_over_the_whole_utc_days_of_the_range(store, streams, invoke):
    claims = TokenClaims(tenant="acme", agent_id=AGENT, run_id="run-4", version_id="v1")
    vote(store, "run-1", "u1", "positive", T0)
    vote(store, "run-2", "u1", "positive", T0 + timedelta(hours=2))
    vote(store, "run-3", "u1", "positive", T0 + timedelta(hours=3))
    vote(store, "run-3", "u1", "negative", T0 + timedelta(hours=4))  # a change of mind: counted once
    vote(store, "run-4", "u1", "negative", T0 + timedelta(hours=5))
    store.retract(claims, "u1", now=stamp(T0 + timedelta(hours=6)))  # retracted: out of every count
    vote(store, "run-5", "u1", "positive", T0 + timedelta(days=1), version="v2")
    vote(store, "run-6", "u1", "positive", datetime(2026, 11, 9, tzinfo=UTC))  # after the range
    streams.pump()
    # The sample event's range: 1 to 8 November (midnights), the days 1 to 7.
    window = {"since": "2026-11-01T00:00:00Z", "until": "2026-11-08T00:00:00Z"}
    status, _, summary = invoke("review", load_event("review/feedback_summary.json", query=window))
    assert status == 200
    overall = summary["overall"]
    assert (overall["positive"], overall["negative"]) == (3, 1)
    low, high = (f"{overall['interval'][side] * 100:.1f}%" for side in ("low", "high"))
    assert totals_line(render()) == (
        "Totals, UTC days 2026-11-01 to 2026-11-07 (whole days), every version, both outcomes: 4 current votes, "
        f"3 positive, 1 negative; satisfaction 75.0% (95% interval {low} to {high})."
    )
    # A range of minutes inside 2 November: the listing keeps to it, the totals count that whole day.
    start = int((T0 + timedelta(hours=1)).timestamp() * 1000)
    end = int((T0 + timedelta(hours=2, minutes=30)).timestamp() * 1000)
    zoomed = render(context={"timeRange": {"mode": "absolute", "start": start, "end": end}})
    assert runs_shown(zoomed) == ["run-2"]
    assert totals_line(zoomed).startswith(
        "Totals, UTC day 2026-11-02 (whole days), every version, both outcomes: 3 current votes, 2 positive, "
        "1 negative;"
    )
    # A version chosen in the form: its totals only.
    only_v2 = render(form={"version": "v2"})
    assert totals_line(only_v2).startswith(
        "Totals, UTC days 2026-11-01 to 2026-11-07 (whole days), version v2, both outcomes: 1 current vote, "
        "1 positive, 0 negative; satisfaction 100.0%"
    )


def test_totals_without_votes_say_none_and_past_the_summarys_limit_say_why(store, streams):
    assert totals_line(render()) == (
        "Totals, UTC days 2026-11-01 to 2026-11-07 (whole days), every version, both outcomes: 0 current votes."
    )
    two_years = {"mode": "relative", "start": 1730419200000, "end": 1794096000000}
    assert totals_line(render(context={"timeRange": two_years})) == (
        "Totals cover at most 366 days: narrow the dashboard's time range."
    )


def test_times_are_shown_in_the_dashboards_time_zone(store):
    vote(store, "run-1", "u1", "positive", T0)
    zone = {"label": "Local", "offsetISO": "+05:30", "offsetInMinutes": -330}
    page = Page(render(context={"timezone": zone}))
    assert page.rows[0][1] == "2026-11-02 14:30"
    assert "(Local (UTC+05:30))" in page.visible


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"outcome": "meh"}, "outcome: use positive, negative, or leave it empty for both"),
        ({"with_comment": "maybe"}, "with_comment: use true, false, or leave it empty for both"),
        ({"agent": "Support Bot"}, "agent: 1-64 lowercase letters"),
        ({"tenant": "ACME"}, "tenant: 1-63 lowercase letters"),
        ({"limit": 0}, "limit: a whole number from 1 to 100"),
        ({"limit": "lots"}, "limit: a whole number from 1 to 100"),
        ({"version": "v" * 65}, "version: at most 64 characters"),
        ({"agent": ["a", "b"]}, "agent: expected text"),
    ],
)
def test_bad_parameters_show_what_to_fix_with_the_form(mixed, params, message):
    page = Page(render(**params))
    assert [attrs.get("role") for _, attrs in page.tags if attrs.get("class") == "fb-error"] == ["alert"]
    assert message in page.visible and page.rows == []
    assert "form" in {tag for tag, _ in page.tags}


def test_hostile_parameters_are_escaped_in_the_form(mixed):
    version = '"><script>x</script>&'
    page = Page(render(version=version, agent='x"><b>'))
    assert not {"script", "b"} & {tag for tag, _ in page.tags}
    values = {attrs["name"]: attrs["value"] for tag, attrs in page.tags if tag == "input"}
    assert values["version"] == version and values["agent"] == 'x"><b>'


def test_call_parameters_hold_no_markup_characters(store):
    version = 'v<1>&"2"'
    vote(store, "run-1", "u1", "negative", T0, version=version)
    markup = render()
    page = Page(markup)
    bodies = [body for attrs, body in page.actions if attrs.get("action") == "call"]
    assert not any(char in body for body in bodies for char in "<>&")
    assert [call["version"] for call in page.calls() if call.get("action") == "page"] == [version]
    assert page.rows[0][3] == version and "script" not in markup


def test_without_tenant_and_agent_the_widget_asks_for_them(mixed):
    page = Page(render(tenant=None, agent="", context={"params": {}}))
    assert "Enter a tenant and an agent, then choose Apply." in page.visible and page.rows == []


@pytest.mark.parametrize("odd", [None, [], "describe", 42])
def test_an_event_that_is_not_an_object_asks_for_tenant_and_agent(aws, odd):
    markup = load_handler("feedback_widget").lambda_handler(odd, FakeContext())
    assert "Enter a tenant and an agent, then choose Apply." in Page(markup).visible


def test_dark_theme_uses_the_dark_palette(store):
    vote(store, "run-1", "u1", "positive", T0)
    assert 'class="fb fb-dark"' in render(context={"theme": "dark"})
    assert 'class="fb"' in render()


# --- a run's popup ------------------------------------------------------------------------------------


def test_run_popup_shows_the_run_and_all_its_current_feedback(aws, store):
    RunStore(aws.dynamodb, "RunsTable", retention_days=90).save(
        RunRecord(
            run_id="0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
            tenant="acme",
            agent_id=AGENT,
            schema_id=1,
            version_id="v1",
            version_properties={"model": "offline", "instructions": "Answer <politely>."},
            task_input={"question": "Where is my <order>?"},
            task_output={"answer": "On its way."},
            model="offline",
            input_tokens=12,
            output_tokens=5,
            cost_usd=0.0001,
            duration_seconds=0.25,
            created_at=stamp(T0),
        )
    )
    run_id = "0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
    vote(store, run_id, "u1", "negative", T0 + timedelta(minutes=1), comment=HOSTILE[0])
    vote(store, run_id, None, "positive", T0 + timedelta(minutes=2))
    page = Page(render("run_detail"))
    assert "Answer <politely>." in page.visible and '"question": "Where is my <order>?"' in page.visible
    assert "0.000100 USD (12 input + 5 output tokens)" in page.visible
    assert page.rows[-2:] == [
        ["▲ Positive", "2026-11-02 09:02", "anonymous", ""],
        ["▼ Negative", "2026-11-02 09:01", "u1", HOSTILE[0]],
    ]
    assert "script" not in {tag for tag, _ in page.tags}


def test_run_popup_of_an_expired_run_still_shows_its_feedback(store):
    vote(store, "0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "u1", "negative", T0, comment="Slow")
    page = Page(render("run_detail"))
    assert "Runs are kept for 90 days." in page.visible and page.rows == [
        ["▼ Negative", "2026-11-02 09:00", "u1", "Slow"]
    ]


def test_run_popup_of_an_unknown_run_says_so(aws):
    page = Page(render("run_detail", run="no-such-run"))
    assert "No run 'no-such-run' of agent 'support-bot' in this tenant." in page.visible
    assert "form" not in {tag for tag, _ in page.tags}


def test_run_popup_uses_its_rows_tenant_not_the_form(store):
    vote(store, "0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "u1", "negative", T0, comment="Slow", tenant="globex")
    page = Page(render("run_detail", form={"tenant": "globex", "agent": AGENT}))
    assert "Slow" not in page.visible  # the row was acme's; a form cannot reach another tenant's run


# --- failures -----------------------------------------------------------------------------------------


@pytest.fixture
def log_output(monkeypatch):
    load_handler("feedback_widget")
    buffer = io.StringIO()
    for handler in logging.getLogger("agent-feedback").handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", buffer)
    return buffer


def test_storage_outage_is_a_message_in_the_widget_and_one_log_line(aws, monkeypatch, log_output):
    from botocore.exceptions import ClientError

    from agentfeedback import composition

    def throttled(**_):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query")

    monkeypatch.setattr(composition.dynamodb(), "query", throttled)
    page = Page(render())
    assert "Storage is busy right now" in page.visible and "form" in {tag for tag, _ in page.tags}
    [line] = [json.loads(line) for line in log_output.getvalue().splitlines() if "widget failed" in line]
    assert line["level"] == "WARNING" and line["code"] == "service_unavailable"


def test_unexpected_error_is_logged_and_never_shown_as_a_trace(aws, monkeypatch, log_output):
    from agentfeedback import composition

    def broken(**_):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(composition.dynamodb(), "query", broken)
    markup = render()
    assert "Something went wrong on our side; it has been logged (request 7c1b2f8e" in markup
    assert "secret internals" not in markup and "Traceback" not in markup
    assert "unhandled error" in log_output.getvalue()


def test_widget_log_lines_carry_no_comment_and_no_user_id(store, log_output):
    vote(store, "0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "ana@example.com", "negative", T0, comment="My card ends 4242")
    render()
    render("run_detail")
    render(outcome="meh")
    logs = log_output.getvalue()
    assert "feedback widget listed" in logs
    assert "4242" not in logs and "ana@example.com" not in logs
