"""The join every image listing needs: from an image up to its series, study and patient."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel.sql.expression import Select, SelectOfScalar

from storage.models import Image, Patient, Series, Study

Statement = TypeVar("Statement", Select, SelectOfScalar)


def up_to_patient(statement: Statement) -> Statement:
    """``statement`` (which has Image in its FROM) outer-joined to the image's series, study and patient,
    so images without them (PNG/JPEG) stay in."""
    return (statement.outerjoin(Series, Image.series_id == Series.id)
            .outerjoin(Study, Series.study_id == Study.id)
            .outerjoin(Patient, Study.patient_id == Patient.id))
