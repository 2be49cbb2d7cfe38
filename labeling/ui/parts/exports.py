"""Export page parts: the download of the session's export and, for admins, the past exports with Delete."""

from __future__ import annotations

import streamlit as st

from labeling.export.retention import delete_export, list_exports, zip_for_download
from labeling.labels.accounts import Account
from labeling.ui.parts.text import as_text, show_error
from storage import rights
from storage.errors import MedalError

NAME_KEY = "export_name"  # the folder name (in the project's exports) of this session's last export
CARD_KEY = "export_card"  # its dataset card
SHOWN = 20  # past exports listed on the page; `medal exports list` lists them all


def download_button(account: Account) -> None:
    """Download the session's export as a zip, made only when clicked and deleted from disk once read."""
    name = st.session_state[NAME_KEY]
    st.download_button(f"Download {as_text(name)}.zip", data=lambda: zip_for_download(name, actor=account.name),
                       file_name=f"{name}.zip", mime="application/zip", type="primary")


def past_exports(account: Account) -> None:
    """Admins only: the newest past exports, each with a Delete button (folder and zips, for good)."""
    if not rights.allows(rights.PAST_EXPORTS, account.role):
        return
    st.subheader("Past exports")
    try:
        entries = list_exports(actor=account.name)
    except MedalError as error:
        show_error(error)
        return
    if not entries:
        st.caption("None on the server.")
    for entry in entries[:SHOWN]:
        left, right = st.columns([5, 1])
        images = "? images" if entry.images is None else f"{entry.images} image(s)"
        kept = {True: " · de-identified", False: " · keeps identity", None: ""}[entry.deidentified]
        left.markdown(f"{as_text(entry.name)} · {entry.created:%Y-%m-%d %H:%M} UTC · {images} · "
                      f"{entry.size / 1e6:.1f} MB{kept}")
        if right.button("Delete", key=f"delete-export-{entry.name}", help="Delete the folder and its zips for good"):
            _delete(account, entry.name)
    if len(entries) > SHOWN:
        st.caption(f"… and {len(entries) - SHOWN} older; `medal exports list` shows them all.")


def _delete(account: Account, name: str) -> None:
    try:
        delete_export(name, actor=account.name)
    except MedalError as error:
        show_error(error)
        return
    if st.session_state.get(NAME_KEY) == name:
        st.session_state.pop(NAME_KEY)
        st.session_state.pop(CARD_KEY, None)
    st.rerun()
