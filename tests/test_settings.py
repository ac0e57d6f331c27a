"""Settings come from TWINLENS_ variables; production refuses placeholder secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import Settings, get_settings


def test_environment_variables_are_read(isolated_env, monkeypatch):
    monkeypatch.setenv("TWINLENS_MODELS", "resnet50")
    monkeypatch.setenv("TWINLENS_CHUNK_SIZE", "8")
    settings = get_settings()
    assert settings.models == ["resnet50"] and settings.chunk_size == 8
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert str(isolated_env) in settings.resolved_database_url


@pytest.mark.parametrize("secret", ["", "changeme", "secret"])
def test_production_refuses_placeholder_secrets(isolated_env, secret):
    with pytest.raises(ValidationError, match="TWINLENS_SECRET_KEY"):
        Settings(env="production", secret_key=secret)


def test_development_secret_is_random_and_kept(isolated_env):
    first = Settings().effective_secret_key()
    assert len(first) == 64 and Settings().effective_secret_key() == first


def test_invalid_values_are_refused(isolated_env, monkeypatch):
    monkeypatch.setenv("TWINLENS_PRECISION", "int4")
    with pytest.raises(ValidationError):
        Settings()
