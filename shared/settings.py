"""Typed settings, read from the environment (prefix TWINLENS_) once per process."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development"}


class Settings(BaseSettings):
    """Every knob of twinlens; the README's configuration table mirrors this class."""

    model_config = SettingsConfigDict(env_prefix="TWINLENS_", env_file=None, extra="ignore")

    env: Literal["development", "production"] = "development"
    secret_key: str = ""
    data_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = "redis://127.0.0.1:6379/0"
    blob_dir: Path | None = None

    # inference
    # "vgg16,resnet50": models the web offers, or the ones a worker serves
    models: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["vgg16", "resnet50"])
    weights: str = "imagenet"
    random_seed: int = 1234
    precision: Literal["float32", "bfloat16", "float16"] = "float32"
    preprocess: Literal["fast", "keras"] = "fast"
    top_k: int = Field(5, ge=1, le=20)

    # queue and reliability
    chunk_size: int = Field(32, ge=1, le=512)
    visibility_timeout: int = Field(3600, ge=5)
    task_soft_time_limit: int = Field(900, ge=5)
    task_time_limit: int = Field(1200, ge=10)
    max_deliveries: int = Field(3, ge=1)
    sweep_interval: float = Field(60.0, gt=0)
    sweep_grace: float = Field(30.0, ge=0)
    decode_threads: int = Field(4, ge=1)
    # how long a task keeps retrying a lost database connection before giving the chunk back
    db_retry_seconds: float = Field(120.0, ge=0)

    # limits
    max_request_bytes: int = 2 * 1024**3
    max_images_per_job: int = 10_000
    max_pixels: int = 50_000_000
    max_zip_entries: int = 10_000
    max_zip_bytes: int = 4 * 1024**3
    max_zip_ratio: int = 200

    # web
    host: str = "127.0.0.1"
    port: int = 8000
    results_page_size: int = Field(50, ge=1, le=500)

    # access: keys are optional in development and required in production unless set
    require_api_key: bool | None = None
    rate_limit: str = "1200 per minute"  # per API key (else per client address)
    rate_limit_submit_cost: int = Field(10, ge=1)  # a job submission counts as this many requests
    rate_limit_storage_url: str = ""  # default: the broker's Redis

    @field_validator("models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [m.strip() for m in value.split(",") if m.strip()]
        return value

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.env == "production" and self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("TWINLENS_SECRET_KEY must be set to a real secret in production")
        return self

    def effective_secret_key(self) -> str:
        """The configured secret; in development, a random one kept in data_dir across runs."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "dev-secret-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
        return path.read_text().strip()

    @property
    def api_keys_required(self) -> bool:
        return self.require_api_key if self.require_api_key is not None else (
            self.env == "production")

    @property
    def resolved_rate_limit_storage_url(self) -> str:
        return self.rate_limit_storage_url or self.broker_url

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'twinlens.db').resolve()}"

    @property
    def resolved_blob_dir(self) -> Path:
        return (self.blob_dir or self.data_dir / "blobs").resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call get_settings.cache_clear() after changing env."""
    return Settings()
