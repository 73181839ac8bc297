"""A small client of the feedback API: base URL, API key, and errors that repeat what the server said.

The base URL is the first of: --api-url, $FEEDBACK_API_URL, the running local stack's (whatever PORT
`make local` used; see local_stack.py), http://127.0.0.1:3000.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from feedbackctl.errors import UserError
from feedbackctl.local_stack import running_stack_url

DEFAULT_API_URL = "http://127.0.0.1:3000"
API_URL_ENV = "FEEDBACK_API_URL"
API_KEY_ENV = "FEEDBACK_API_KEY"
USER_AGENT = "feedbackctl/0.1"
# API Gateway gives up after 29 s; wait a little longer so its own timeout message reaches the user.
TIMEOUT_SECONDS = 35.0
API_URL_HELP = (
    "base URL of the API, e.g. the stack's ApiUrl output (default: "
    f"${API_URL_ENV}, else the running local stack's, else {DEFAULT_API_URL})"
)
NO_KEY_HINT = (
    f"No API key: set {API_KEY_ENV} to an API key of your tenant (for the local stack: "
    f"`export {API_KEY_ENV}=$(cat .local/dev_api_key)`, the key `make local` printed, "
    "or a new one from `feedbackctl keys --local create --tenant local`)."
)


class ApiClientError(UserError):
    """A request failed; the message is what to tell the user (the server's own message when it sent one)."""

    exit_status = 1

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def api_url(given: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """(base URL, where it came from), the first of --api-url (`given`), $FEEDBACK_API_URL, the local stack's,
    the default.

    Raises UserError when the URL given is not an http(s) URL.
    """
    if given:
        url, source = given, "--api-url"
    elif env.get(API_URL_ENV):
        url, source = env[API_URL_ENV], f"${API_URL_ENV}"
    else:
        url, source = running_stack_url() or (DEFAULT_API_URL, "the default")
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise UserError(f"{source} {url!r} is not an http(s) URL: give one like {DEFAULT_API_URL}")
    return url, source


def path(*segments: str) -> str:
    """A URL path from raw segments, each percent-encoded (a segment may hold '/', '@' or spaces).

    UserError for a segment `.` or `..`: every URL parser on the way removes it, whatever its encoding
    (requests itself decodes %2E), so the request would reach another route. Such ids travel in a body or a query.
    """
    for segment in segments:
        if segment in (".", ".."):
            raise UserError(f"{segment!r} cannot be sent as part of a URL path (clients remove it)")
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def query_string(params: Mapping[str, Any]) -> str:
    """`name=value&...` for the values that are not None, each percent-encoded (RFC 3986).

    A space is sent as %20, not as '+' (HTML forms' convention, which a server may keep as a plus); '%', '?',
    '#', '&', '/' and non-ASCII text are all escaped, so a user id arrives exactly as given.
    """
    return "&".join(
        f"{quote(name, safe='')}={quote(_query_value(value), safe='')}"
        for name, value in params.items()
        if value is not None
    )


class FeedbackApiClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        session: requests.Session | None = None,
        timeout: float = TIMEOUT_SECONDS,
        url_source: str = "--api-url",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url_source = url_source
        self._api_key = api_key
        self._session = session or requests.Session()
        self._timeout = timeout

    @classmethod
    def connect(cls, given_url: str | None, env: Mapping[str, str] | None = None) -> FeedbackApiClient:
        """A client of the API at api_url(given_url, env), with the key in $FEEDBACK_API_KEY (checked on use)."""
        env = os.environ if env is None else env
        base_url, source = api_url(given_url, env)
        return cls(base_url, env.get(API_KEY_ENV) or None, url_source=source)

    @property
    def has_key(self) -> bool:
        return bool(self._api_key)

    def get(self, url_path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", url_path, params=params)

    def delete(self, url_path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("DELETE", url_path, params=params)

    def post(self, url_path: str, body: Any) -> Any:
        return self.request("POST", url_path, body=body)

    def put(self, url_path: str, body: Any) -> Any:
        return self.request("PUT", url_path, body=body)

    def pages(
        self,
        url_path: str,
        params: Mapping[str, Any],
        page_size: int,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[tuple[list[Any], str | None]]:
        """(items, next_cursor) of each page of a paged list route ({"items": [...], "next_cursor": ...}).

        From `cursor` on; stops after `limit` items in all (None: every page). Each request asks only for what
        is still wanted, so the last next_cursor resumes exactly after the last item (None: nothing left).
        """
        while limit is None or limit > 0:
            size = page_size if limit is None else min(limit, page_size)
            page = self.get(url_path, {**params, "limit": size, "cursor": cursor})
            items, cursor = page["items"], page.get("next_cursor")
            if limit is not None:
                limit -= len(items)
            yield items, cursor
            if not cursor:
                return

    def request(self, method: str, url_path: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        if not self._api_key:
            raise ApiClientError(NO_KEY_HINT)
        url = self.base_url + url_path
        query = query_string(params or {})
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}
        try:
            response = self._session.request(
                method, url, params=query or None, json=body, headers=headers, timeout=self._timeout
            )
        except requests.ConnectionError as exc:
            raise ApiClientError(
                f"Cannot reach the API at {self.base_url}: is it running (make local), "
                f"and are --api-url / {API_URL_ENV} right? (the URL came from {self.url_source})"
            ) from exc
        except requests.Timeout as exc:
            raise ApiClientError(f"The API at {self.base_url} did not answer within {self._timeout:.0f} s.") from exc
        except requests.RequestException as exc:
            raise ApiClientError(f"The request to {url} failed: {exc}") from exc
        if response.status_code >= 400:
            raise self._error(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiClientError(
                f"The API at {self.base_url} answered {method} {url_path} with something other than JSON: "
                "is --api-url the API's base URL?"
            ) from None

    def _error(self, response: requests.Response) -> ApiClientError:
        code: str | None = None
        try:
            error = response.json()["error"]
            message = str(error["message"])
            code = error.get("code")
        except (ValueError, KeyError, TypeError):
            text = response.text.strip()
            message = text[:300] if text else (response.reason or "no message")
        if response.status_code == 401:
            message += f" (the key comes from {API_KEY_ENV})"
        label = f"{response.status_code} {code}" if code else str(response.status_code)
        return ApiClientError(f"{label}: {message}", status=response.status_code, code=code)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
