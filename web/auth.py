"""Who is asking: an API key's owner, a browser session's owner, or the shared anonymous one.

A job belongs to the owner that created it and is visible to that owner only; any other
asker gets 404, so a job id reveals nothing. Owners live in separate namespaces ("key:",
"session:") so that no API key owner name can collide with a browser session.
"""

from __future__ import annotations

import secrets

import click
from flask import Flask, g, request, session
from flask.cli import with_appcontext

from shared.apikeys import create_api_key, owner_of_key
from shared.models import ANONYMOUS_OWNER
from web import services
from web.errors import ApiError

API_KEY_HEADER = "X-API-Key"
SESSION_OWNER = "owner"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def current_owner() -> str:
    """The owner of this request, resolved once per request; raises 401 ApiError."""
    if "owner" not in g:
        g.owner = _resolve_owner()
    return g.owner


def _resolve_owner() -> str:
    key = request.headers.get(API_KEY_HEADER, "").strip()
    if key:
        return _key_owner(key)
    on_api = request.blueprint == "api"
    owner = session.get(SESSION_OWNER)
    # The API is CSRF-exempt, so a session cookie authorises only reads there: a forged
    # cross-site POST or DELETE cannot act as the browser's owner.
    if owner and (not on_api or request.method in SAFE_METHODS):
        return owner
    if not on_api:
        return _new_session_owner()
    if services().settings.api_keys_required:
        raise ApiError(401, "api_key_required",
                       f"this server needs an API key in the {API_KEY_HEADER} header")
    return ANONYMOUS_OWNER


def _key_owner(key: str) -> str:
    with services().sessions() as db:
        owner = owner_of_key(db, key[:200])
    if owner is None:
        raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked")
    return f"key:{owner}"


def _new_session_owner() -> str:
    owner = f"session:{secrets.token_urlsafe(16)}"
    session[SESSION_OWNER] = owner
    session.permanent = True
    return owner


@click.command("create-api-key")
@with_appcontext
@click.argument("owner")
@click.option("--name", default=None, help="a note to recognise the key by")
def create_api_key_command(owner: str, name: str | None) -> None:
    """Create an API key for OWNER and print it (it is shown only this once)."""
    with services().sessions.begin() as db:
        try:
            key = create_api_key(db, owner=owner, name=name)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    click.echo(key)


def init_app(app: Flask) -> None:
    # Lax: the browser sends the session cookie on top-level navigations only, never on a
    # cross-site form POST or fetch; Secure where production serves HTTPS.
    app.config.update(
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=app.config["TWINLENS"].env == "production",
    )
    app.cli.add_command(create_api_key_command)
