"""prediction confidence index: keyset pages sorted by a model's top-1 score

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.create_index("ix_predictions_job_model_score",
                              ["job_id", "model", "top1_score", "image_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_predictions_job_model_score")
