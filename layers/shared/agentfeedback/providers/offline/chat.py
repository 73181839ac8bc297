"""The offline model's answer to a plain chat (no output schema)."""

from __future__ import annotations

from collections.abc import Sequence

from agentfeedback.providers.base import ChatMessage, truncate

_INTRO = "This is the offline model: it answers without calling any AI provider."


def chat_reply(messages: Sequence[ChatMessage]) -> str:
    """One line saying the answer is offline, quoting the last user message (whitespace collapsed, cut to 80
    characters with `…`), or saying there was none."""
    last_user = next((message.content for message in reversed(messages) if message.role == "user"), "")
    summary = truncate(last_user, 80)
    if not summary:
        return f"{_INTRO} There was no user message to answer."
    return f'{_INTRO} You said: "{summary}"'
