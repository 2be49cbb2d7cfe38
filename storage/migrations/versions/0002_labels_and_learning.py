"""Labeling and learning: taxonomy (with default classes), users, annotations, regions,
model versions, predictions, jobs and audit events.

Revision ID: 0002
Revises: 0001
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sa.Enum('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', name='jobstatus'), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_status_created', ['status', 'created_at'], unique=False)

    op.create_table('label_class',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('color', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('category_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('category_meaning', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('type_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('type_meaning', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('coding_scheme', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('role', sa.Enum('ANNOTATOR', 'REVIEWER', 'SCIENTIST', 'ADMIN', name='role'), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_user_id'), ['user_id'], unique=False)

    op.create_table('model_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('label_count', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('checkpoint_path', sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('model_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_version_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_version_created_at'), ['created_at'], unique=False)

    op.create_table('annotation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('image_label', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], ),
    sa.ForeignKeyConstraint(['supersedes_id'], ['annotation.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annotation_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_annotation_image_current', ['image_id', 'is_current'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotation_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotation_user_id'), ['user_id'], unique=False)

    op.create_table('prediction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('uncertainty', sa.Float(), nullable=False),
    sa.Column('strategy', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('heatmap_path', sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], ),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('model_version_id', 'image_id', name='uq_prediction')
    )
    with op.batch_alter_table('prediction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prediction_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prediction_model_version_id'), ['model_version_id'], unique=False)

    op.create_table('region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('label_class_id', sa.Integer(), nullable=False),
    sa.Column('shape', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('points', sa.JSON(), nullable=False),
    sa.Column('x', sa.Float(), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.Column('w', sa.Float(), nullable=False),
    sa.Column('h', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotation.id'], ),
    sa.ForeignKeyConstraint(['label_class_id'], ['label_class.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('region', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_region_annotation_id'), ['annotation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_region_label_class_id'), ['label_class_id'], unique=False)

    label_class = sa.table(
        "label_class",
        *(sa.column(name) for name in (
            "name", "color", "key", "position", "category_code", "category_meaning",
            "type_code", "type_meaning", "coding_scheme", "active")),
    )
    op.bulk_insert(label_class, [
        {"name": "Cancerous", "color": "#e6194b", "key": "1", "position": 0,
         "category_code": "49755003", "category_meaning": "Morphologically Abnormal Structure",
         "type_code": "108369006", "type_meaning": "Neoplasm", "coding_scheme": "SCT", "active": True},
        {"name": "Healthy", "color": "#3cb44b", "key": "2", "position": 1,
         "category_code": "85756007", "category_meaning": "Tissue",
         "type_code": "17621005", "type_meaning": "Normal", "coding_scheme": "SCT", "active": True},
    ])


def downgrade() -> None:
    op.drop_table('region')
    op.drop_table('prediction')
    op.drop_table('annotation')
    op.drop_table('model_version')
    op.drop_table('audit_event')
    op.drop_table('user')
    op.drop_table('label_class')
    op.drop_table('job')
