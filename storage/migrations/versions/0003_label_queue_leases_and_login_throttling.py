"""Label queue leases (image.leased_by, lease_until, skip_reason) and login throttling

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 08:40:07.528459
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('login_attempt',
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('username')
    )
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leased_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('skip_reason', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True))
        batch_op.create_index(batch_op.f('ix_image_leased_by'), ['leased_by'], unique=False)
        batch_op.create_foreign_key('fk_image_leased_by_user', 'user', ['leased_by'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_constraint('fk_image_leased_by_user', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_image_leased_by'))
        batch_op.drop_column('skip_reason')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('leased_by')

    op.drop_table('login_attempt')
