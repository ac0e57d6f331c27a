"""SQLAlchemy models: jobs, their images, the chunks of work queued, and predictions."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from shared.states import ChunkStatus, ImageStatus, JobStatus

ANONYMOUS_OWNER = "anonymous"  # requests without a key or a session, where keys are optional


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    """128 random bits, URL-safe: unguessable, so a job id is not enumerable."""
    return secrets.token_urlsafe(16)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_job_id)
    status: Mapped[str] = mapped_column(String(32), default=JobStatus.QUEUED, index=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    models: Mapped[list[str]] = mapped_column(JSON)
    top_k: Mapped[int] = mapped_column(Integer, default=5)
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    images: Mapped[list[Image]] = relationship(back_populates="job", passive_deletes=True)

    @validates("owner")
    def _anonymous_when_unowned(self, _key: str, owner: str | None) -> str:
        # Jobs made without an owner (scripts, tests) belong to development's anonymous owner,
        # so that "no owner" never means "visible to everyone".
        return owner or ANONYMOUS_OWNER


class Image(Base):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ImageStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text)

    job: Mapped[Job] = relationship(back_populates="images")

    __table_args__ = (
        UniqueConstraint("job_id", "ordinal", name="uq_images_job_ordinal"),
        Index("ix_images_job_status", "job_id", "status"),
    )


class Chunk(Base):
    """A unit of queued work: some images of one job, for one model; one Celery message."""

    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_status_enqueued", "status", "enqueued_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_job_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(32))
    image_ids: Mapped[list[int]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=ChunkStatus.QUEUED)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Prediction(Base):
    """One model's ranked top-k for one image; (image, model) is unique so writes are upserts."""

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("image_id", "model", name="uq_predictions_image_model"),
        Index("ix_predictions_job_model", "job_id", "model"),
        # the gallery's sort by confidence and its "below" filter walk this in keyset order
        Index("ix_predictions_job_model_score", "job_id", "model", "top1_score", "image_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(32))
    labels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{rank,index,wnid,label,score}]
    top1_index: Mapped[int] = mapped_column(Integer)
    top1_score: Mapped[float] = mapped_column(Float)
    weights: Mapped[str] = mapped_column(String(300))
    precision: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A credential for the API: only the sha256 of the key is kept; jobs belong to its owner."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
