"""The dashboard's feedback page: a CloudWatch custom widget's event in, HTML out.

It lists current votes through the review service (the same reads as the review API: one entry per run and
end user, so a changed vote counts once and an erased end user is gone at once), unlike a Logs Insights table,
which would show what the logs kept. Its totals are the summary's, read from the aggregates of the whole UTC days
the dashboard's time range touches (one query, whatever the number of votes). The widget's log lines carry no
comment and no end-user id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger

from agentfeedback.core.errors import DomainError, InvalidCursor, NotFound, ServiceUnavailable, ValidationFailed
from agentfeedback.core.http_api import invalid_request
from agentfeedback.core.storage import unavailable
from agentfeedback.review.models import FeedbackPage
from agentfeedback.review.service import MAX_SUMMARY_DAYS, ReviewService, feedback_filter, stored_time, summary_window
from agentfeedback.review.widget_html import (
    DOCS,
    PageView,
    Totals,
    error_html,
    page_html,
    run_feedback_html,
    run_html,
)
from agentfeedback.review.widget_request import WidgetRequest, is_describe, read_widget_event

logger = Logger(child=True)


class FeedbackWidget:
    """Answers a custom widget's invocations; `service` is asked for on each (the composition root builds it)."""

    def __init__(self, service: Callable[[], ReviewService]) -> None:
        self._service = service

    def answer(self, event: Mapping[str, Any], function_arn: str, request_id: str = "") -> str:
        """HTML for the widget (or a popup), the documentation in Markdown for a `describe` call. Never raises:
        a problem is a message in the widget, and the logs get the cause (never a comment or a user id)."""
        if not isinstance(event, Mapping):
            event = {}
        if is_describe(event):
            return DOCS
        request = read_widget_event(event)
        try:
            if request.filters.problems:
                raise invalid_request(request.filters.problems)
            if request.run_id is not None:
                return self._run(request)
            return self._page(request, function_arn)
        except DomainError as error:
            if isinstance(error, ServiceUnavailable):
                logger.warning("widget failed", extra={"code": error.code, "cause": repr(error.__cause__)[:500]})
            else:
                logger.info("widget request refused", extra={"code": error.code})
            return self._refusal(request, function_arn, error.message)
        except Exception as exc:  # the last resort: a message, never a stack trace in the dashboard
            busy = unavailable(exc)
            if busy is not None:
                logger.warning("widget failed", extra={"code": busy.code, "cause": repr(exc)[:500]})
                return self._refusal(request, function_arn, busy.message)
            logger.exception("unhandled error")
            return self._refusal(
                request, function_arn, f"Something went wrong on our side; it has been logged (request {request_id})."
            )

    def _refusal(self, request: WidgetRequest, function_arn: str, message: str) -> str:
        if request.run_id is not None:
            return error_html(message, request.dark)
        return page_html(PageView(request, function_arn, error=message))

    def _page(self, request: WidgetRequest, function_arn: str) -> str:
        filters = request.filters
        if filters.tenant is None or filters.agent is None:
            return page_html(PageView(request, function_arn))
        query = feedback_filter(outcome=filters.outcome, version=filters.version, has_comment=filters.with_comment)

        def listed(cursor: str | None) -> FeedbackPage:
            return self._service().list_feedback(
                filters.tenant or "", filters.agent or "", query, request.window, filters.limit, cursor
            )

        notice = None
        try:
            page = listed(request.cursor)
        except InvalidCursor:
            # The dashboard's time range moved on (or the cursor was edited): start again rather than fail.
            page = listed(None)
            request = replace(request, cursor=None)
            notice = "That page is no longer in the dashboard's time range: this is the first page again."
        logger.info(
            "feedback widget listed",
            extra={"tenant": filters.tenant, "agent_id": filters.agent, "shown": len(page.items)},
        )
        totals = self._totals(request)
        return page_html(PageView(request, function_arn, page.items, page.next_cursor, notice=notice, totals=totals))

    def _totals(self, request: WidgetRequest) -> Totals:
        """The current votes of the whole UTC days the dashboard's range touches (its version only, if chosen).

        An open range (none given) is the summary's default, the 30 days ending today; a range past the summary's
        MAX_SUMMARY_DAYS gets a note instead of figures.
        """
        filters, window = request.filters, request.window
        try:
            days = summary_window(
                stored_time(window.since) if window.since else None,
                stored_time(window.until) if window.until else None,
            )
        except ValidationFailed:
            return Totals(note=f"Totals cover at most {MAX_SUMMARY_DAYS} days: narrow the dashboard's time range.")
        summary = self._service().feedback_summary(filters.tenant or "", filters.agent or "", days, filters.version)
        return Totals(since=days.since, until=days.until, figures=summary.overall, version=filters.version)

    def _run(self, request: WidgetRequest) -> str:
        filters, run_id = request.filters, request.run_id or ""
        if filters.tenant is None or filters.agent is None:
            raise invalid_request(["tenant and agent: both are needed to show a run"])
        service = self._service()
        try:
            detail = service.run_detail(filters.tenant, filters.agent, run_id)
        except NotFound as gone:
            # Runs expire; their feedback stays (run_feedback is a 404 only when there is none either).
            feedback = service.run_feedback(filters.tenant, filters.agent, run_id)
            return run_feedback_html(feedback.run_id, feedback.items, request, gone.message)
        return run_html(detail, request)
