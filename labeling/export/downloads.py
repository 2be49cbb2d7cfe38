"""An export's zip for a browser download, audited: what Medal's authenticated download route serves
(never Streamlit's media store, whose files anyone with the address may fetch)."""

from __future__ import annotations

from sqlmodel import select

from labeling.export.retention import zip_for_download
from storage import AuditEvent, Project, User, write_session


def download_zip(name: str, *, project: Project, actor: str) -> bytes:
    """The export ``name`` as the bytes of a zip for ``actor``, who must still be allowed to export it (the
    rights of ``zip_for_download``, checked against the account as it is now); the download is audited."""
    data = zip_for_download(name, actor=actor, project=project)
    with write_session(engine=project.engine) as session:
        user = session.exec(select(User).where(User.name == actor)).first()
        session.add(AuditEvent(user_id=user.id if user else None, username=actor, action="export.download",
                               entity="export", detail={"name": name, "bytes": len(data)}))
        session.commit()
    return data
