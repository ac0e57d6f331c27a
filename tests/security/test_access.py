"""Who sees which job: API keys, browser sessions, CSRF, and production defaults."""

from __future__ import annotations

import io
import re

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from tests.support.images import photo
from tests.support.web_app import database_url


def submit(client, headers=None, **form):
    data = {"files": [(io.BytesIO(photo(1, size=(32, 32))), "a.jpg")], **form}
    return client.post("/api/v1/jobs", data=data, headers=headers or {},
                       content_type="multipart/form-data")


def test_a_key_sees_only_its_owners_jobs(make_app, new_key):
    client = make_app(require_api_key=True).test_client()
    alice, bob = {"X-API-Key": new_key("alice")}, {"X-API-Key": new_key("bob")}
    job = submit(client, alice).get_json()

    assert client.get(f"/api/v1/jobs/{job['id']}", headers=alice).status_code == 200
    for path in (f"/api/v1/jobs/{job['id']}", f"/api/v1/jobs/{job['id']}/results",
                 f"/api/v1/jobs/{job['id']}/results?format=csv"):
        response = client.get(path, headers=bob)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=bob).status_code == 404
    assert client.get("/api/v1/jobs", headers=bob).get_json()["items"] == []
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=alice).get_json()["items"]] == [
        job["id"]]


def test_keys_required_means_401_without_one_or_with_a_wrong_one(make_app):
    client = make_app(require_api_key=True).test_client()

    missing = submit(client)
    wrong = client.get("/api/v1/jobs", headers={"X-API-Key": "tl_not-a-key"})

    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "api_key_required"
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_api_key"
    assert client.get("/healthz").status_code == 200


def test_revoked_keys_stop_working(make_app, new_key, tmp_path):
    from shared.apikeys import revoke_owner_keys
    from shared.db import session_factory

    client = make_app(require_api_key=True).test_client()
    key = {"X-API-Key": new_key("carol")}
    assert client.get("/api/v1/jobs", headers=key).status_code == 200
    with session_factory(database_url(tmp_path)).begin() as session:
        assert revoke_owner_keys(session, owner="carol") == 1

    assert client.get("/api/v1/jobs", headers=key).status_code == 401


def test_keys_are_stored_hashed_and_made_by_a_flask_command(make_app, tmp_path):
    from sqlalchemy import create_engine, text

    app = make_app()
    result = app.test_cli_runner().invoke(args=["create-api-key", "dave", "--name", "ci"])

    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert key.startswith("tl_") and len(key) > 40
    engine = create_engine(database_url(tmp_path))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT owner, key_sha256 FROM api_keys")).all()
    engine.dispose()
    assert stored[0][0] == "dave" and key not in stored[0][1]
    assert app.test_client().get("/api/v1/jobs", headers={"X-API-Key": key}).status_code == 200


def csrf_token(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def submit_form(client, token: str | None):
    data = {"files": [(io.BytesIO(photo(2, size=(32, 32))), "b.jpg")], "models": "resnet50"}
    if token:
        data["csrf_token"] = token
    return client.post("/jobs", data=data, content_type="multipart/form-data",
                       headers={"Accept": "application/json"})


@pytest.mark.parametrize("require_api_key", [False, True])
def test_browser_sessions_see_only_their_own_jobs(make_app, require_api_key):
    app = make_app(require_api_key=require_api_key)
    app.config["WTF_CSRF_ENABLED"] = True
    mine, theirs = app.test_client(), app.test_client()
    job_id = submit_form(mine, csrf_token(mine)).get_json()["id"]
    csrf_token(theirs)  # a session of its own

    assert mine.get(f"/jobs/{job_id}").status_code == 200
    assert mine.get(f"/api/v1/jobs/{job_id}").status_code == 200  # the page's own polling
    assert theirs.get(f"/jobs/{job_id}").status_code == 404
    assert theirs.get(f"/api/v1/jobs/{job_id}").status_code == 404
    # The CSRF-exempt API does not let a session cookie alone act on the session's jobs.
    assert mine.delete(f"/api/v1/jobs/{job_id}").status_code in (401, 404)


def test_the_form_refuses_a_post_without_its_csrf_token(make_app):
    app = make_app()
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    csrf_token(client)

    response = submit_form(client, token=None)

    assert response.status_code == 400
    assert client.get("/api/v1/jobs").get_json()["items"] == []


def test_session_cookie_is_httponly_lax_and_secure_in_production(make_app):
    app = make_app(env="production", secret_key="a-real-secret-" + "x" * 40)
    cookie = app.test_client().get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_production_has_no_default_secret_and_requires_keys():
    with pytest.raises(ValidationError, match="TWINLENS_SECRET_KEY"):
        Settings(env="production")
    assert Settings(env="production", secret_key="k" * 40).api_keys_required
    assert not Settings().api_keys_required


def test_job_ids_are_random_and_unguessable(make_app):
    client = make_app().test_client()
    ids = [submit(client).get_json()["id"] for _ in range(30)]

    assert len(set(ids)) == 30
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22,}", job_id) for job_id in ids)
    assert len({job_id[:4] for job_id in ids}) > 20  # no shared prefix or counter
