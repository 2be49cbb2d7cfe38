"""Browser sessions: log-in kept in an HttpOnly cookie

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:38:48.372018
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('browser_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('ticket_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('ticket_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('browser_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_browser_session_ticket_hash'), ['ticket_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_browser_session_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('browser_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_browser_session_user_id'))
        batch_op.drop_index(batch_op.f('ix_browser_session_ticket_hash'))

    op.drop_table('browser_session')
