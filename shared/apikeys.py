"""API keys: create one for an owner, and find the owner a presented key belongs to."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.models import ApiKey, utcnow

KEY_PREFIX = "tl_"
OWNER_PATTERN = re.compile(r"[A-Za-z0-9_.@-]{1,60}")


def key_digest(key: str) -> str:
    """What is stored and looked up: a leaked database does not leak usable keys."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_api_key(session: Session, *, owner: str, name: str | None = None) -> str:
    """A new key for owner; the plaintext is returned once and never stored."""
    if not OWNER_PATTERN.fullmatch(owner):
        raise ValueError("owner: 1-60 characters of letters, digits, '_', '.', '@' or '-'")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(owner=owner, key_sha256=key_digest(key), name=(name or "")[:100] or None))
    session.flush()
    return key


def owner_of_key(session: Session, key: str) -> str | None:
    """The owner a key belongs to, or None for an unknown or revoked key."""
    return session.scalar(
        select(ApiKey.owner).where(ApiKey.key_sha256 == key_digest(key),
                                   ApiKey.revoked_at.is_(None))
    )


def revoke_owner_keys(session: Session, *, owner: str) -> int:
    """Revoke every key of owner; returns how many were live."""
    return session.execute(
        update(ApiKey).where(ApiKey.owner == owner, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
