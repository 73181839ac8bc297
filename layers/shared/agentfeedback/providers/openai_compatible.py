"""Any OpenAI-compatible chat completions API (OpenAI itself, or a gateway or local server speaking it).

Plain `urllib`: an HTTP client library would add to every cold start for one POST per run. A streamed answer
(`stream: true`) is read line by line as it arrives and its server-sent events decoded by sseclient-py.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator, Mapping
from http.client import HTTPException, HTTPResponse
from typing import Any

from agentfeedback.core.errors import ProviderError, ProviderTimeout
from agentfeedback.providers.base import (
    Completion,
    CompletionRequest,
    StreamEvent,
    TextDelta,
    estimate_tokens,
    json_instruction,
    truncate,
)
from agentfeedback.providers.settings import DEFAULT_TIMEOUT_SECONDS, JsonMode, ProviderSettings
from agentfeedback.providers.stream_timeouts import timed_events

PROVIDER = "OpenAI-compatible"
# What an upstream error message may echo back of a key (OpenAI shows "sk-abc***xyz"); never pass it on.
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-*]{3,}")
_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
# One server-sent event line (a chunk of a few deltas is well under a kilobyte).
_MAX_LINE_BYTES = 1024 * 1024

SecretReader = Callable[[str], str]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would resend the Authorization header to wherever it points: fail instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def read_secret(secret_arn: str) -> str:
    """The key stored in Secrets Manager: the secret string itself, or its "api_key" field if it is JSON."""
    import boto3  # only deployed functions that use a secret pay for it
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client: Any = boto3.client("secretsmanager", config=Config(connect_timeout=2, read_timeout=5))
    try:
        secret = client.get_secret_value(SecretId=secret_arn).get("SecretString") or ""
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ProviderError(PROVIDER, f"its API key could not be read from Secrets Manager ({code}).") from exc
    except BotoCoreError as exc:
        raise ProviderError(PROVIDER, "its API key could not be read from Secrets Manager (unreachable).") from exc
    return api_key_from_secret(secret)


def api_key_from_secret(secret: str) -> str:
    secret = secret.strip()
    if secret.startswith("{"):
        try:
            fields = json.loads(secret)
        except ValueError:
            fields = None
        if isinstance(fields, dict):
            for name in ("api_key", "OPENAI_API_KEY", "apiKey", "key"):
                if isinstance(fields.get(name), str) and fields[name].strip():
                    return str(fields[name]).strip()
        raise ProviderError(PROVIDER, 'its API key secret is JSON without an "api_key" field.')
    if not secret:
        raise ProviderError(PROVIDER, "its API key secret is empty.")
    return secret


class OpenAICompatibleProvider:
    """Implements `Provider` over POST {base_url}/chat/completions.

    The key is given directly (local use) or read from Secrets Manager on the first call and kept for
    the life of the container.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        api_key_secret_arn: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        json_mode: JsonMode = "json_schema",
        secret_reader: SecretReader = read_secret,
    ) -> None:
        if not api_key and not api_key_secret_arn:
            raise ValueError("an API key or the ARN of a secret holding one is required")
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key
        self._secret_arn = api_key_secret_arn
        self._timeout = timeout_seconds
        self._json_mode = json_mode
        self._read_secret = secret_reader
        self._key_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> OpenAICompatibleProvider:
        return cls(
            settings.openai_base_url,
            api_key=settings.openai_api_key,
            api_key_secret_arn=settings.openai_api_key_secret_arn,
            timeout_seconds=settings.timeout_seconds,
            json_mode=settings.openai_json_mode,
        )

    def _key(self) -> str:
        with self._key_lock:
            if self._api_key is None:
                assert self._secret_arn is not None
                self._api_key = self._read_secret(self._secret_arn)
            return self._api_key

    def request_body(self, request: CompletionRequest, provider_model: str) -> dict[str, Any]:
        messages = [{"role": message.role, "content": message.content} for message in request.messages]
        body: dict[str, Any] = {"model": provider_model, "messages": messages}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.json_schema is not None:
            if self._json_mode == "json_schema":
                # strict: false accepts any schema; strict mode rejects optional fields and open objects.
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": request.json_schema, "strict": False},
                }
            else:
                # JSON mode alone knows no schema, and OpenAI requires the word "JSON" in the messages.
                body["response_format"] = {"type": "json_object"}
                messages.append({"role": "system", "content": json_instruction(request.json_schema)})
        return body

    def complete(self, request: CompletionRequest, provider_model: str) -> Completion:
        key = self._key()
        timeout = min(self._timeout, request.timeout_seconds or self._timeout)
        response = self._open(self.request_body(request, provider_model), key, timeout, "application/json")
        try:
            with response:
                raw = response.read(_MAX_RESPONSE_BYTES)
        except TimeoutError as exc:
            raise ProviderTimeout(PROVIDER, timeout) from exc
        except (OSError, HTTPException) as exc:  # the connection dropped mid-answer
            raise ProviderError(PROVIDER, f"the connection failed ({_reason(exc)}).") from exc
        return self._completion(raw, provider_model, request, key)

    def stream(self, request: CompletionRequest, provider_model: str) -> Iterator[StreamEvent]:
        """The answer as OpenAI streams it (`stream: true`, usage in its last chunk), a TextDelta per content delta.

        Sends the request now: a refusal (HTTP status >= 400) raises here as complete()'s does. Each wait for the
        next line is bounded by the provider timeout, the whole answer by `request.timeout_seconds`
        (ProviderTimeout). Raises ProviderError for an error event mid-answer (its message redacted like an HTTP
        error's), a broken connection, or a stream that ends before the answer is complete. A server that ignores
        `stream` and answers JSON is read as complete() reads it, as one delta.
        """
        key = self._key()
        read_timeout = min(self._timeout, request.timeout_seconds or self._timeout)
        body = {
            **self.request_body(request, provider_model),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        response = self._open(body, key, read_timeout, "text/event-stream")
        if response.headers.get_content_type() == "application/json":
            events = self._whole_answer(response, provider_model, request, key, read_timeout)
        else:
            events = self._streamed_answer(response, provider_model, request, key, read_timeout)
        return timed_events(events, PROVIDER, read_timeout, request.timeout_seconds)

    def _open(self, body: dict[str, Any], key: str, timeout: float, accept: str) -> HTTPResponse:
        """POST the body; the response once its status and headers arrived (ProviderError, ProviderTimeout)."""
        http_request = urllib.request.Request(  # noqa: S310  # the URL is ours (settings), never a caller's
            self._url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Accept": accept,
                "User-Agent": "agent-feedback",
            },
        )
        try:
            response: HTTPResponse = _OPENER.open(http_request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc, key) from None
        except TimeoutError as exc:
            raise ProviderTimeout(PROVIDER, timeout) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ProviderTimeout(PROVIDER, timeout) from exc
            raise ProviderError(PROVIDER, f"it could not be reached ({_reason(exc.reason)}).") from exc
        except (OSError, HTTPException) as exc:  # the connection dropped, or no HTTP status line came
            raise ProviderError(PROVIDER, f"the connection failed ({_reason(exc)}).") from exc
        return response

    def _whole_answer(
        self, response: HTTPResponse, provider_model: str, request: CompletionRequest, key: str, timeout: float
    ) -> Generator[StreamEvent, None, None]:
        try:
            with response:
                raw = response.read(_MAX_RESPONSE_BYTES)
        except TimeoutError as exc:
            raise ProviderTimeout(PROVIDER, timeout) from exc
        except (OSError, HTTPException) as exc:
            raise ProviderError(PROVIDER, f"the connection failed ({_reason(exc)}).") from exc
        completion = self._completion(raw, provider_model, request, key)
        if completion.text:
            yield TextDelta(completion.text)
        yield completion

    def _streamed_answer(
        self, response: HTTPResponse, provider_model: str, request: CompletionRequest, key: str, timeout: float
    ) -> Generator[StreamEvent, None, None]:
        from sseclient import SSEClient  # only a streamed answer needs it

        parts: list[str] = []
        refusal: list[str] = []
        usage: Mapping[str, Any] = {}
        model = provider_model
        ended = False  # [DONE], or a choice's finish_reason: anything after it is usage only
        try:
            for event in SSEClient(_lines(response)).events():
                if event.data == "[DONE]":
                    ended = True
                    break
                chunk = _chunk(event.data, key)
                model = str(chunk.get("model") or model)
                if isinstance(chunk.get("usage"), Mapping):
                    usage = chunk["usage"]
                choices = chunk.get("choices")
                choice = choices[0] if isinstance(choices, list) and choices else None
                if not isinstance(choice, Mapping):
                    continue
                delta = choice.get("delta")
                if not isinstance(delta, Mapping):
                    delta = {}
                if isinstance(delta.get("content"), str) and delta["content"]:
                    parts.append(delta["content"])
                    yield TextDelta(delta["content"])
                if isinstance(delta.get("refusal"), str):
                    refusal.append(delta["refusal"])
                ended = ended or bool(choice.get("finish_reason"))
        except TimeoutError as exc:
            raise ProviderTimeout(PROVIDER, timeout) from exc
        except (OSError, HTTPException) as exc:
            raise ProviderError(PROVIDER, f"the connection failed mid-answer ({_reason(exc)}).") from exc
        finally:
            response.close()
        if not ended:
            raise ProviderError(PROVIDER, "its stream ended before the answer was complete.")
        text = "".join(parts)
        if not text and refusal:
            raise ProviderError(PROVIDER, f"the model refused: {truncate(''.join(refusal))}")
        prompt = "".join(str(m.content) for m in request.messages)
        yield Completion(
            text=text,
            input_tokens=_count(usage.get("prompt_tokens"), prompt),
            output_tokens=_count(usage.get("completion_tokens"), text),
            model=model,
        )

    def _http_error(self, exc: urllib.error.HTTPError, key: str) -> ProviderError:
        try:
            detail = _upstream_message(exc.read(64 * 1024))
        except (OSError, HTTPException):
            detail = ""
        finally:
            exc.close()
        status = exc.code
        hint = {
            401: "the API key was refused",
            403: "the API key may not use this model",
            404: "the model or endpoint does not exist there",
            429: "rate limited or out of quota",
        }.get(status, "the service had an error" if status >= 500 else "the request was refused")
        if status < 400:
            hint = "it redirected the request, which is not followed with the key (check OPENAI_BASE_URL)"
        reason = f"HTTP {status}, {hint}"
        if detail:
            reason += f": {_redact(detail, key)}"
        retry_after = exc.headers.get("Retry-After", "") if exc.headers else ""
        seconds = int(retry_after) if retry_after.isdigit() else (1 if status in (429, 503) else None)
        return ProviderError(PROVIDER, reason.rstrip(".") + ".", retry_after_seconds=seconds)

    def _completion(self, raw: bytes, provider_model: str, request: CompletionRequest, key: str) -> Completion:
        try:
            body = json.loads(raw)
        except ValueError:
            raise ProviderError(PROVIDER, "it answered with a body that is not valid JSON.") from None
        try:
            message = body["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            error = _upstream_message(raw) if isinstance(body, dict) and "error" in body else ""
            reason = f": {_redact(error, key)}" if error else " (no choices[0].message)"
            raise ProviderError(PROVIDER, f"it answered with no completion{reason}".rstrip(".") + ".") from None
        text = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(text, str):
            refusal = message.get("refusal") if isinstance(message, Mapping) else None
            if isinstance(refusal, str) and refusal:
                raise ProviderError(PROVIDER, f"the model refused: {truncate(refusal)}")
            raise ProviderError(PROVIDER, "it answered with no text content.")
        usage = body.get("usage") if isinstance(body.get("usage"), Mapping) else {}
        prompt = "".join(str(m.content) for m in request.messages)
        return Completion(
            text=text,
            input_tokens=_count(usage.get("prompt_tokens"), prompt),
            output_tokens=_count(usage.get("completion_tokens"), text),
            model=str(body.get("model") or provider_model),
        )


def _lines(response: HTTPResponse) -> Iterator[bytes]:
    """The body's lines as they arrive, within _MAX_LINE_BYTES each and _MAX_RESPONSE_BYTES in all."""
    total = 0
    while line := response.readline(_MAX_LINE_BYTES + 1):
        total += len(line)
        if len(line) > _MAX_LINE_BYTES or total > _MAX_RESPONSE_BYTES:
            raise ProviderError(PROVIDER, "its stream was larger than this service reads.")
        yield line


def _chunk(data: str, key: str) -> Mapping[str, Any]:
    """One event's `chat.completion.chunk`; an error event (OpenAI streams `{"error": {...}}`) is a ProviderError."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ProviderError(PROVIDER, "it streamed an event that is not valid JSON.") from None
    if not isinstance(chunk, dict):
        raise ProviderError(PROVIDER, "it streamed an event that is not a JSON object.")
    if chunk.get("error"):
        detail = _redact(_upstream_message(data.encode()), key) or "no message"
        raise ProviderError(PROVIDER, f"it sent an error mid-answer: {detail.rstrip('.')}.")
    return chunk


def _count(reported: Any, text: str) -> int:
    # Some compatible servers report no usage; an estimate keeps cost figures from reading zero.
    return reported if isinstance(reported, int) and reported >= 0 else estimate_tokens(text)


def _upstream_message(raw: bytes) -> str:
    """The error message OpenAI-style bodies carry ({"error": {"message": ...}}), else the text itself."""
    text = raw.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        return truncate(text)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            for name in ("message", "detail", "msg"):
                if isinstance(error.get(name), str):
                    return truncate(error[name])
        if isinstance(error, str):
            return truncate(error)
    return truncate(text)


def _redact(text: str, key: str) -> str:
    if key:
        text = text.replace(key, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return truncate(str(reason) or type(reason).__name__, 120)
