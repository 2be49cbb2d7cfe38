"""The DICOM hierarchy (patient, study, series, image), import problems and project settings.

Revision ID: 0001
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('project_setting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('patient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('patient_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=324), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_key'), ['key'], unique=True)
        batch_op.create_index(batch_op.f('ix_patient_patient_id'), ['patient_id'], unique=False)

    op.create_table('study',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('study_instance_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('study_date', sa.Date(), nullable=True),
    sa.Column('study_time', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('accession_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_study_study_date'), ['study_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_study_study_instance_uid'), ['study_instance_uid'], unique=True)

    op.create_table('series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('series_instance_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('modality', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('series_number', sa.Integer(), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('body_part', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('frame_of_reference_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_modality'), ['modality'], unique=False)
        batch_op.create_index(batch_op.f('ix_series_series_instance_uid'), ['series_instance_uid'], unique=True)
        batch_op.create_index(batch_op.f('ix_series_study_id'), ['study_id'], unique=False)

    op.create_table('image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('DICOM', 'RASTER', name='sourcekind'), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=False),
    sa.Column('number_of_frames', sa.Integer(), nullable=False),
    sa.Column('sop_instance_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('sop_class_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('transfer_syntax_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('modality', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('cols', sa.Integer(), nullable=False),
    sa.Column('samples_per_pixel', sa.Integer(), nullable=False),
    sa.Column('photometric', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('bits_stored', sa.Integer(), nullable=True),
    sa.Column('pixel_spacing', sa.JSON(), nullable=True),
    sa.Column('instance_number', sa.Integer(), nullable=True),
    sa.Column('burned_in_annotation', sa.Boolean(), nullable=True),
    sa.Column('windows', sa.JSON(), nullable=False),
    sa.Column('cache_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sa.Enum('UNLABELED', 'LABELED', 'SKIPPED', name='imagestatus'), nullable=False),
    sa.Column('priority', sa.Float(), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('content_hash', 'frame', name='uq_image_hash_frame'),
    sa.UniqueConstraint('sop_instance_uid', 'frame', name='uq_image_sop_frame')
    )
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_cache_key'), ['cache_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_modality'), ['modality'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_series_id'), ['series_id'], unique=False)
        batch_op.create_index('ix_image_status_priority', ['status', 'priority'], unique=False)

    op.create_table('import_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('batch', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('path')
    )
    with op.batch_alter_table('import_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_problem_batch'), ['batch'], unique=False)


def downgrade() -> None:
    op.drop_table('import_problem')
    op.drop_table('image')
    op.drop_table('series')
    op.drop_table('study')
    op.drop_table('patient')
    op.drop_table('project_setting')
