"""A description per label class (what readers mark with it), with one for the two default classes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DEFAULTS = {
    "Cancerous": "A malignant lesion (a tumour, a suspicious nodule or mass): outline the lesion itself.",
    "Healthy": "Normal tissue that could be mistaken for a finding (a vessel, a lymph node, dense normal "
               "tissue): outline it to teach the model what is not a finding.",
}


def upgrade() -> None:
    with op.batch_alter_table('label_class', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=500), nullable=False, server_default=''))
    table = sa.table('label_class', sa.column('name', sa.String), sa.column('description', sa.String))
    for name, text in DEFAULTS.items():
        op.execute(table.update().where(table.c.name == name, table.c.description == '').values(description=text))


def downgrade() -> None:
    with op.batch_alter_table('label_class', schema=None) as batch_op:
        batch_op.drop_column('description')
