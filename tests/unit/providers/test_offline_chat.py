"""providers/offline/chat.py: the plain chat reply."""

from __future__ import annotations

from agentfeedback.providers.base import ChatMessage
from agentfeedback.providers.offline.chat import chat_reply


def test_reply_quotes_the_last_user_message_not_the_assistant() -> None:
    reply = chat_reply(
        [
            ChatMessage("system", "be brief"),
            ChatMessage("user", "first question"),
            ChatMessage("assistant", "an answer"),
            ChatMessage("user", "second question"),
        ]
    )
    assert reply.startswith("This is the offline model")
    assert reply.endswith('You said: "second question"')
    assert "first question" not in reply and "an answer" not in reply


def test_reply_without_a_user_message_says_so() -> None:
    for messages in ([], [ChatMessage("system", "be brief")], [ChatMessage("user", "  \n ")]):
        assert chat_reply(messages).endswith("There was no user message to answer.")


def test_quote_collapses_whitespace_and_stops_at_80_characters() -> None:
    reply = chat_reply([ChatMessage("user", "one\n\ttwo   " + "x" * 200)])
    quoted = reply.split('You said: "', 1)[1].removesuffix('"')
    assert quoted.startswith("one two x")
    assert len(quoted) == 80 and quoted.endswith("…")
