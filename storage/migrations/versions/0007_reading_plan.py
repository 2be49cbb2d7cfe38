"""Reading plans: each image's readers so far, the readers its plan wants, and whether it waits for another;
who adjudicated a consensus reading, from which readings and why

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 04:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('readings', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('readings_needed', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('wants_reading', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index('ix_image_wants_priority', ['wants_reading', 'priority'], unique=False)
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('adjudicated_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sources', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.create_foreign_key('fk_annotation_adjudicated_by_user', 'user', ['adjudicated_by'], ['id'])
    # Every image read so far: one reading per reader with a current annotation (the plan was one reader).
    op.execute("UPDATE image SET readings = (SELECT COUNT(*) FROM annotation "
               "WHERE annotation.image_id = image.id AND annotation.is_current)")


def downgrade() -> None:
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.drop_constraint('fk_annotation_adjudicated_by_user', type_='foreignkey')
        batch_op.drop_column('reason')
        batch_op.drop_column('sources')
        batch_op.drop_column('adjudicated_by')
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_index('ix_image_wants_priority')
        batch_op.drop_column('wants_reading')
        batch_op.drop_column('readings_needed')
        batch_op.drop_column('readings')
