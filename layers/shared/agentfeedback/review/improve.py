"""Drafting a version's next instructions from its feedback, and saving the draft as a new version.

The flow: read the version's newest negative feedback that has a comment (and, if asked, positive feedback with
a comment), each with its run's input and output, in the caller's tenant only and without end-user ids; ask a
model with the improver's fixed prompt (review.improver) through the provider router, asking once more if the
answer is not valid against the improver's schema; save the new instructions, with the version's other
properties unchanged, as a new version bound to no environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from agentfeedback.core.errors import NothingToImprove
from agentfeedback.providers.base import Complete, CompletionRequest
from agentfeedback.review import improver
from agentfeedback.review.improver import FeedbackExample
from agentfeedback.review.models import ImprovedVersion, ImproveRequest
from agentfeedback.review.store import FeedbackFilter, ReviewStore, TimeRange
from agentfeedback.runs.models import SavedVersionResponse
from agentfeedback.runs.pricing import cost_usd
from agentfeedback.runs.registry import DEFAULT_INSTRUCTIONS, AgentRegistry, version_id
from agentfeedback.runs.runner import generate_output
from agentfeedback.runs.store import RunStore

logger = Logger(child=True)

# Feedback pages read while looking for commented entries of one version: each page evaluates at most a few
# thousand index entries (review.store), so a version with few comments among many votes still ends in time.
MAX_PAGES = 4


@dataclass(frozen=True)
class Draft:
    instructions: str
    changelog: list[str]
    input_tokens: int
    output_tokens: int


class ImproveService:
    def __init__(self, store: ReviewStore, runs: RunStore, registry: AgentRegistry, complete: Complete) -> None:
        self._store = store
        self._runs = runs
        self._registry = registry
        self._complete = complete

    def _examples(self, tenant: str, agent_id: str, version_id: str, outcome: str, limit: int) -> list[FeedbackExample]:
        """Up to `limit` entries of the version with this outcome and a comment, newest first, with their runs."""
        wanted = FeedbackFilter(outcome=outcome, version=version_id, has_comment=True)
        examples: list[FeedbackExample] = []
        position = None
        for _ in range(MAX_PAGES):
            entries, position = self._store.feedback_page(
                tenant, agent_id, wanted, TimeRange(), limit - len(examples), position
            )
            for entry in entries:
                if entry.outcome is None or not (entry.comment or "").strip():
                    continue  # a retracted vote, or one without a comment
                # A run expires (RunRetentionDays) before its feedback does: the comment still counts.
                run = self._runs.get(tenant, entry.run_id)
                examples.append(
                    FeedbackExample(
                        id=entry.id,
                        outcome=entry.outcome,
                        comment=entry.comment or "",
                        task_input=run.task_input if run is not None else None,
                        task_output=run.task_output if run is not None else None,
                    )
                )
            if len(examples) >= limit or position is None:
                break
        return examples[:limit]

    def _draft(
        self, model: str, instructions: str, examples: list[FeedbackExample], number: int, deadline: float | None
    ) -> Draft:
        request = CompletionRequest(
            model=model,
            messages=improver.messages(instructions, examples),
            temperature=0.2,
            json_schema=improver.OUTPUT_SCHEMA,
            offline_answer=json.dumps(improver.offline_draft(instructions, examples, number), ensure_ascii=False),
        )
        output, input_tokens, output_tokens = generate_output(self._complete, request, improver.OUTPUT_SCHEMA, deadline)
        return Draft(
            instructions=str(output["instructions"]).strip() or instructions,
            changelog=[str(line) for line in output["changelog"]],
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def improve(
        self, tenant: str, agent_id: str, number: int, options: ImproveRequest, deadline: float | None = None
    ) -> ImprovedVersion:
        """Draft and save the next instructions of saved version `number`.

        NotFound for an unknown version; NothingToImprove (409) when it has no negative feedback with a comment;
        the router's errors for a model that is unknown or not configured (400), the provider's for a failed
        call (502, 504), InvalidModelOutput (502) when the answer is still invalid after one retry.
        """
        saved = self._registry.version(tenant, agent_id, number)
        model = options.model or str(saved.properties.get("model") or "offline")
        negative = self._examples(tenant, agent_id, saved.id, "negative", options.max_feedback)
        if not negative:
            raise NothingToImprove(
                f"Version {number} of agent {agent_id!r} has no negative feedback with a comment, so there is "
                "nothing to improve from yet. Collect some (end users post a comment with a thumbs down), then retry."
            )
        positive = (
            self._examples(tenant, agent_id, saved.id, "positive", options.max_feedback)
            if options.include_positive
            else []
        )
        examples = improver.bounded(negative + positive)
        instructions = str(saved.properties.get("instructions") or DEFAULT_INSTRUCTIONS)
        draft = self._draft(model, instructions, examples, number, deadline)
        properties = {**saved.properties, "instructions": draft.instructions}
        # A draft equal to a saved version (the model changed nothing) gets that version back, not a new one.
        existing = self._registry.number_of(tenant, agent_id, version_id(properties))
        new = self._registry.save_version(tenant, agent_id, properties)
        logger.info(
            "instructions drafted from feedback",
            extra={"tenant": tenant, "agent_id": agent_id, "version": number, "new_version": new.number},
        )
        return ImprovedVersion(
            agent_id=agent_id,
            base_version=number,
            version=SavedVersionResponse.model_validate(new),
            created=existing is None,
            instructions=draft.instructions,
            changelog=draft.changelog,
            diff=improver.unified_diff(instructions, draft.instructions, number, new.number),
            feedback_ids=[example.id for example in examples],
            model=model,
            input_tokens=draft.input_tokens,
            output_tokens=draft.output_tokens,
            cost_usd=cost_usd(model, draft.input_tokens, draft.output_tokens),
        )
