"""Security headers on every response; rate limits per key, counted in Redis."""

from __future__ import annotations

import re
from pathlib import Path

import redis

from tests.security.conftest import REDIS_DB
from tests.support.stack import REDIS_URL

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def test_every_response_carries_the_security_headers(make_app):
    client = make_app().test_client()
    for path in ("/", "/jobs", "/api/v1/jobs", "/api/v1/jobs/nope", "/healthz",
                 "/api/v1/openapi.json", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_templates_have_no_inline_script_for_the_csp_to_block():
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template.name
        assert not re.search(r"\son[a-z]+\s*=", html), template.name  # onclick= etc.
        assert "javascript:" not in html, template.name


def test_rate_limit_answers_429_with_retry_after_per_key(make_app, new_key):
    client = make_app(rate_limit="5 per minute").test_client()
    alice, bob = {"X-API-Key": new_key("alice")}, {"X-API-Key": new_key("bob")}

    statuses = [client.get("/api/v1/jobs", headers=alice).status_code for _ in range(6)]
    limited = client.get("/api/v1/jobs", headers=alice)

    assert statuses[:5] == [200] * 5 and statuses[5] == 429
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    error = limited.get_json()["error"]
    assert error["code"] == "rate_limited" and error["limit"] == "rate_limit"
    assert client.get("/api/v1/jobs", headers=bob).status_code == 200  # a budget of its own
    assert client.get("/healthz", headers=alice).status_code == 200  # health is exempt


def test_rate_limit_is_shared_by_web_processes_through_redis(make_app, new_key):
    key = {"X-API-Key": new_key("erin")}
    first, second = (make_app(rate_limit="4 per minute").test_client() for _ in range(2))

    statuses = [c.get("/api/v1/jobs", headers=key).status_code for c in (first, second) * 3]

    assert statuses == [200, 200, 200, 200, 429, 429]
    keys = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}").keys("*twinlens-rl*")
    assert keys  # the counters live in Redis, not in either process


def test_a_submission_costs_more_than_a_poll(make_app):
    client = make_app(rate_limit="25 per minute", rate_limit_submit_cost=10).test_client()
    import io

    from tests.support.images import photo

    def submit():
        data = {"files": [(io.BytesIO(photo(3, size=(16, 16))), "c.jpg")]}
        return client.post("/api/v1/jobs", data=data, content_type="multipart/form-data")

    assert [submit().status_code for _ in range(3)] == [202, 202, 429]


def test_broker_down_does_not_break_the_web(make_app):
    client = make_app(broker_url="redis://127.0.0.1:1/0").test_client()
    assert client.get("/api/v1/jobs").status_code == 200  # limits fall back to memory
    assert client.get("/readyz").status_code == 503
