"""The twinlens HTTP API from Python: retries with backoff, Retry-After honoured, streamed uploads.

Reads are retried on any network error and on 429/5xx. A job submission is resent only when
it cannot have created a job: the connection never opened, or the server answered 429/503
before reading it. (A submission lost after it was sent is reported, not silently repeated,
since repeating it could create the same job twice.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from shared.multipart import MultipartBody, UploadFile

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REFUSED_UNREAD = frozenset({429, 503})  # the server did nothing with the request
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
API = "/api/v1"


class ApiError(Exception):
    """An error answer of the API: status, stable code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status, self.code, self.message = status, code, message


class ServerUnreachable(Exception):
    """Every attempt failed at the network level."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5  # doubles each attempt
    max_delay: float = 30.0

    def backoff(self, attempt: int) -> float:
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the API sends seconds; an HTTP date is treated as absent)."""
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def job_path(job_id: str, *rest: str) -> str:
    return "/".join([f"{API}/jobs", quote(job_id, safe=""), *rest])


class TwinlensClient:
    """One server, one optional API key; every call retries as the module docstring says."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 60.0,
                 retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[int, float, str], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept": "application/json", "User-Agent": "twinlens-cli"}
        if api_key:
            headers["X-API-Key"] = api_key
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers,
                                 timeout=httpx.Timeout(timeout, connect=10.0),
                                 transport=transport)
        self.retry, self.sleep = retry, sleep
        self.on_retry = on_retry or (lambda attempt, delay, reason: None)

    def close(self) -> None:
        self.http.close()

    def send(self, method: str, url: str, *, idempotent: bool = True,
             build: Callable[[], dict[str, Any]] | None = None, stream: bool = False
             ) -> httpx.Response:
        """One request with retries; build() makes fresh keyword arguments per attempt."""
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                request = self.http.build_request(method, url, **(build() if build else {}))
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if last or not (idempotent or isinstance(exc, NOT_SENT)):
                    raise ServerUnreachable(f"{method} {url}: {exc!r}") from exc
                delay = self.retry.backoff(attempt)
                reason = f"network error ({exc.__class__.__name__})"
            else:
                retryable = RETRY_STATUSES if idempotent else REFUSED_UNREAD
                if response.status_code not in retryable or last:
                    return _checked(response)
                response.close()
                delay = retry_after(response)
                delay = self.retry.backoff(attempt) if delay is None else delay
                reason = f"server answered {response.status_code}"
            self.on_retry(attempt, delay, reason)
            self.sleep(delay)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def create_job(self, files: list[UploadFile], *, models: str | None = None,
                   top_k: int | None = None, on_bytes: Callable[[int], None] | None = None,
                   on_attempt: Callable[[], None] | None = None) -> dict[str, Any]:
        """POST the files as one multipart body, streamed; on_bytes counts what was sent."""
        fields = {k: str(v) for k, v in (("models", models), ("top_k", top_k)) if v}

        def build() -> dict[str, Any]:
            if on_attempt:
                on_attempt()
            body = MultipartBody(fields, files, on_bytes=on_bytes)
            return {"content": iter(body), "headers": {"Content-Type": body.content_type,
                                                        "Content-Length": str(len(body))}}

        return self.send("POST", f"{API}/jobs", idempotent=False, build=build).json()

    def get_job(self, job_id: str) -> tuple[dict[str, Any], float | None]:
        """The job, and how long the server asks us to wait before polling again."""
        response = self.send("GET", job_path(job_id))
        return response.json(), retry_after(response)

    def results(self, job_id: str, **params: str) -> Iterator[dict[str, Any]]:
        """Every result item, following the API's `next` links."""
        url: str | None = job_path(job_id, "results")
        first = {k: v for k, v in {"limit": "500", **params}.items() if v}
        while url:
            # params only on the first page: httpx would drop the query of a `next` link
            page = self.send("GET", url, build=lambda p=first: {"params": p} if p else {}).json()
            yield from page["items"]
            url, first = page["next"], {}

    def download(self, job_id: str, fmt: str, out: BinaryIO) -> None:
        """The whole CSV or JSON export, written to out as it arrives."""
        response = self.send("GET", job_path(job_id, "results"), stream=True,
                             build=lambda: {"params": {"format": fmt}})
        try:
            for piece in response.iter_bytes():
                out.write(piece)
        finally:
            response.close()

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.send("DELETE", job_path(job_id)).json()


def _checked(response: httpx.Response) -> httpx.Response:
    """The response if 2xx, else ApiError with the server's code and message."""
    if response.is_success:
        return response
    response.read()
    try:
        error = response.json()["error"]
        code, message = error.get("code", "error"), error.get("message", response.reason_phrase)
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message = "http_error", response.text[:200] or response.reason_phrase
    raise ApiError(response.status_code, code, message)
