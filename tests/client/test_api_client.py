"""Retries of the API client on a fake transport: what is retried, how long it waits, and
what is never sent twice."""

from __future__ import annotations

import httpx
import pytest

from shared.api_client import ApiError, RetryPolicy, ServerUnreachable, TwinlensClient
from shared.multipart import collect_files
from tests.support.images import photo

JOB = {"id": "j1", "status": "running", "counts": {}, "progress": {}}


def client_with(replies, **kwargs):
    """A client whose transport answers from `replies` in turn (a Response or an exception)."""
    seen: list[httpx.Request] = []
    slept: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    client = TwinlensClient("http://twinlens.test", transport=httpx.MockTransport(handle),
                            sleep=slept.append, retry=RetryPolicy(attempts=4, base_delay=0.5),
                            **kwargs)
    return client, seen, slept


def test_reads_retry_network_errors_and_5xx_with_backoff_and_retry_after():
    client, seen, slept = client_with([
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.Response(503, headers={"Retry-After": "7"}, json={"error": {}}),
        httpx.Response(200, headers={"Retry-After": "2"}, json=JOB),
    ])
    job, wait = client.get_job("j1")
    assert job == JOB and wait == 2.0
    assert slept == [0.5, 1.0, 7.0]
    assert len(seen) == 4


def test_give_up_after_the_last_attempt():
    client, _, slept = client_with([httpx.ConnectError("refused")] * 4)
    with pytest.raises(ServerUnreachable):
        client.get_job("j1")
    assert len(slept) == 3


def test_errors_come_back_with_the_servers_code_and_message():
    client, seen, _ = client_with([httpx.Response(
        404, json={"error": {"code": "not_found", "message": "no job 'x'"}})])
    with pytest.raises(ApiError) as caught:
        client.get_job("x/../y")
    assert (caught.value.status, caught.value.code) == (404, "not_found")
    assert seen[0].url.raw_path == b"/api/v1/jobs/x%2F..%2Fy"  # an id never becomes a path


def test_submission_is_resent_only_when_it_cannot_have_made_a_job(tmp_path):
    (tmp_path / "a.jpg").write_bytes(photo(1))
    files = collect_files([tmp_path / "a.jpg"])
    client, seen, slept = client_with([
        httpx.ConnectError("refused"),  # never sent
        httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {}}),  # refused unread
        httpx.Response(202, json=JOB),
    ])
    attempts = []
    assert client.create_job(files, models="vgg16", on_attempt=lambda: attempts.append(1)) == JOB
    assert slept == [0.5, 3.0] and len(attempts) == 3
    assert seen[-1].headers["Content-Length"] == str(len(seen[-1].content))
    assert b'filename="a.jpg"' in seen[-1].content and b"vgg16" in seen[-1].content

    client, seen, _ = client_with([httpx.ReadError("lost after sending")])
    with pytest.raises(ServerUnreachable):
        client.create_job(files)
    assert len(seen) == 1  # maybe created: reported, not repeated

    client, seen, _ = client_with([httpx.Response(502, json={"error": {}})])
    with pytest.raises(ApiError):
        client.create_job(files)
    assert len(seen) == 1


def test_results_follow_next_links_and_send_the_api_key():
    page = {"items": [{"n": 1}], "next": "/api/v1/jobs/j1/results?after=0&limit=500"}
    client, seen, _ = client_with([httpx.Response(200, json=page),
                                   httpx.Response(200, json={"items": [{"n": 2}], "next": None})],
                                  api_key="tl_secret")
    assert list(client.results("j1", filter="disagree")) == [{"n": 1}, {"n": 2}]
    assert seen[0].url.params["filter"] == "disagree"
    assert seen[1].url.params["after"] == "0"
    assert all(r.headers["X-API-Key"] == "tl_secret" for r in seen)
