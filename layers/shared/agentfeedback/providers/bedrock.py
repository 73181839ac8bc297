"""Amazon Bedrock through the Converse API (ConverseStream to stream): one request shape for every Bedrock chat model.

Calls run under the function's IAM role (bedrock:InvokeModel, and bedrock:InvokeModelWithResponseStream to
stream); no key to keep.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from urllib3 import exceptions as urllib3_errors

from agentfeedback.core.errors import ProviderError, ProviderTimeout
from agentfeedback.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    StreamEvent,
    TextDelta,
    json_instruction,
    strip_code_fence,
    truncate,
)
from agentfeedback.providers.settings import DEFAULT_TIMEOUT_SECONDS, ProviderSettings
from agentfeedback.providers.stream_timeouts import timed_events

PROVIDER = "Amazon Bedrock"
# Converse wants user and assistant turns alternating, starting with the user.
_OPENING_TURN = "Follow the instructions above."
# Upstream messages are shown to callers: keep role ARNs and account ids out of them.
_ARN = re.compile(r"arn:aws[a-z-]*:[^\s,;\"']+")
_ACCOUNT_ID = re.compile(r"\b\d{12}\b")


class BedrockProvider:
    """Implements `Provider`. The boto3 client is made on first use, so routing to other models never loads it."""

    def __init__(
        self,
        client: Any | None = None,
        *,
        region: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._region = region
        self._timeout = timeout_seconds
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> BedrockProvider:
        return cls(region=settings.bedrock_region, timeout_seconds=settings.timeout_seconds)

    def _bedrock(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.client(
                    "bedrock-runtime",
                    region_name=self._region,
                    # No retries: a second 25 s attempt would outlive API Gateway's 29 s; the caller retries.
                    config=Config(
                        connect_timeout=3,
                        read_timeout=self._timeout,
                        retries={"mode": "standard", "total_max_attempts": 1},
                    ),
                )
            return self._client

    def converse_arguments(self, request: CompletionRequest, provider_model: str) -> dict[str, Any]:
        system, turns = split_messages(request.messages)
        if request.json_schema is not None:
            system.append(json_instruction(request.json_schema))
        arguments: dict[str, Any] = {
            "modelId": provider_model,
            "messages": [{"role": role, "content": [{"text": text}]} for role, text in turns],
        }
        if system:
            arguments["system"] = [{"text": text} for text in system]
        inference: dict[str, Any] = {}
        if request.temperature is not None:
            inference["temperature"] = request.temperature
        if request.max_tokens is not None:
            inference["maxTokens"] = request.max_tokens
        if inference:
            arguments["inferenceConfig"] = inference
        return arguments

    def complete(self, request: CompletionRequest, provider_model: str) -> Completion:
        arguments = self.converse_arguments(request, provider_model)
        response = self._call("converse", arguments, provider_model)
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block["text"] for block in blocks if isinstance(block, dict) and "text" in block)
        return self._completion(text, response.get("stopReason"), response.get("usage", {}), request, provider_model)

    def stream(self, request: CompletionRequest, provider_model: str) -> Iterator[StreamEvent]:
        """ConverseStream: a TextDelta per `contentBlockDelta`, usage from the closing `metadata` event.

        Calls now (errors raise here as complete()'s do). Each wait for the next event is bounded by the provider
        timeout, the whole answer by `request.timeout_seconds` (ProviderTimeout); an exception event mid-answer
        (botocore raises it as EventStreamError, its code in lower camel case) is mapped as complete() maps the
        same error, a broken stream is a ProviderError.
        """
        arguments = self.converse_arguments(request, provider_model)
        response = self._call("converse_stream", arguments, provider_model)
        events = self._events(response["stream"], request, provider_model)
        return timed_events(events, PROVIDER, self._timeout, request.timeout_seconds)

    def _call(self, operation: str, arguments: dict[str, Any], provider_model: str) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._bedrock(), operation)(**arguments)
        except Exception as exc:
            mapped = _call_error(exc, provider_model, self._timeout)
            if mapped is None:
                raise
            raise mapped from exc
        return response

    def _events(
        self, stream: Any, request: CompletionRequest, provider_model: str
    ) -> Generator[StreamEvent, None, None]:
        parts: list[str] = []
        stop_reason: str | None = None
        usage: Mapping[str, Any] = {}
        try:
            for event in stream:
                if "contentBlockDelta" in event:
                    text = event["contentBlockDelta"].get("delta", {}).get("text")
                    if isinstance(text, str) and text:
                        parts.append(text)
                        yield TextDelta(text)
                elif "messageStop" in event:
                    stop_reason = event["messageStop"].get("stopReason")
                elif "metadata" in event:
                    usage = event["metadata"].get("usage", {})
        except Exception as exc:
            mapped = _call_error(exc, provider_model, self._timeout)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            stream.close()
        yield self._completion("".join(parts), stop_reason, usage, request, provider_model)

    def _completion(
        self,
        text: str,
        stop_reason: str | None,
        usage: Mapping[str, Any],
        request: CompletionRequest,
        provider_model: str,
    ) -> Completion:
        if not text and stop_reason in ("guardrail_intervened", "content_filtered"):
            raise ProviderError(PROVIDER, "the answer was blocked by a content filter.")
        if request.json_schema is not None:
            text = strip_code_fence(text)
        return Completion(
            text=text,
            input_tokens=int(usage.get("inputTokens", 0)),
            output_tokens=int(usage.get("outputTokens", 0)),
            model=provider_model,
        )


def split_messages(messages: Sequence[ChatMessage]) -> tuple[list[str], list[tuple[str, str]]]:
    """System (and developer) messages go to `system`; the rest become alternating user/assistant turns.

    Consecutive messages of one role are joined, blank ones dropped (Converse rejects both), and a
    conversation that does not open with the user gets a short opening user turn.
    """
    system: list[str] = []
    turns: list[tuple[str, str]] = []
    for message in messages:
        if not message.content.strip():
            continue
        if message.role in ("system", "developer"):
            system.append(message.content)
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1][0] == role:
            turns[-1] = (role, f"{turns[-1][1]}\n\n{message.content}")
        else:
            turns.append((role, message.content))
    if not turns or turns[0][0] != "user":
        turns.insert(0, ("user", _OPENING_TURN))
    return system, turns


def _upstream(exc: ClientError) -> str:
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return truncate(_ACCOUNT_ID.sub("<account>", _ARN.sub("<arn>", message)))


def _call_error(exc: Exception, model: str, timeout: float) -> ProviderError | ProviderTimeout | None:
    """The domain error of a failed call, or of a stream that broke (urllib3's errors reach a stream's reader
    unwrapped); None for an exception of another kind (a bug, raised as it is)."""
    if isinstance(exc, ClientError):
        return _client_error(exc, model)
    if isinstance(exc, ReadTimeoutError | urllib3_errors.ReadTimeoutError):
        return ProviderTimeout(PROVIDER, timeout)
    if isinstance(exc, ConnectTimeoutError | EndpointConnectionError):
        return ProviderError(PROVIDER, "it could not be reached from this region.")
    if isinstance(exc, NoCredentialsError):
        return ProviderError(PROVIDER, "no AWS credentials are available to call it.")
    if isinstance(exc, BotoCoreError | urllib3_errors.HTTPError):
        return ProviderError(PROVIDER, f"the call failed ({type(exc).__name__}).")
    return None


def _client_error(exc: ClientError, model: str) -> ProviderError | ProviderTimeout:
    code = str(exc.response.get("Error", {}).get("Code", "Error"))
    # A ConverseStream exception event names its error in lower camel case (throttlingException).
    code = code[:1].upper() + code[1:]
    detail = _upstream(exc)
    if code == "ModelTimeoutException":
        return ProviderTimeout(PROVIDER)
    if code in ("ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"):
        return ProviderError(
            PROVIDER, f"rate limited or over quota for model '{model}' ({code}).", retry_after_seconds=2
        )
    if code == "AccessDeniedException":
        # The upstream text names the function's role: say what to fix instead.
        return ProviderError(
            PROVIDER,
            f"access to model '{model}' was denied ({code}): enable the model under Bedrock's model access in "
            "this account and region, and allow bedrock:InvokeModel to the function's role.",
        )
    if code == "ResourceNotFoundException":
        return ProviderError(PROVIDER, f"model '{model}' was not found in this region ({code}): {detail}")
    if code in ("ModelNotReadyException", "ServiceUnavailableException", "InternalServerException"):
        return ProviderError(PROVIDER, f"the service is unavailable right now ({code}); retry.", retry_after_seconds=2)
    if code == "ValidationException":
        return ProviderError(PROVIDER, f"the request was refused ({code}): {detail}")
    return ProviderError(PROVIDER, f"model '{model}' failed ({code})" + (f": {detail}" if detail else "."))
