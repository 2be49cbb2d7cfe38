"""Medal's Streamlit entry point (``streamlit run app.py``).

Streamlit imports this file as a module to build the server: ``app`` is Streamlit's own ASGI app
with Medal's routes (``labeling/ui/web_routes.py``: the log-in cookie, pixels, export downloads) behind
Medal's guard (``labeling/ui/web_guard.py``: uploads, metrics, framing, the client's address). Each
browser's script run executes it as ``__main__``: page config, the log-in gate and navigation only.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from labeling.access import Account


def _pages(account: Account | None) -> list[st.Page]:
    """The pages of a role (the pages and the library check the rights again); every page, none of them
    the default, for a visitor who is not logged in yet."""
    def page(path: str, title: str, icon: str, default: bool = False) -> st.Page:
        return st.Page(f"labeling/ui/pages/{path}", title=title, icon=f":material/{icon}:", default=default)

    pages = [page("label.py", "Label", "draw", default=account is not None),
             page("images.py", "Images", "photo_library"), page("train.py", "Train", "model_training")]
    if account is None or account.imports_data:
        pages.append(page("import_files.py", "Import", "upload"))
    if account is None or account.exports_data:
        pages.append(page("export.py", "Export", "download"))
    if account is None or account.edits_taxonomy or account.is_admin:
        pages.append(page("settings.py", "Settings", "settings"))
    if account is None or account.reviews:
        pages.append(page("review.py", "Review", "rate_review"))
    if account is None or account.sees_agreement:
        pages.append(page("team.py", "Team reading", "groups"))
    if account is None or account.audits:
        pages.append(page("audit.py", "Audit", "policy"))
    return pages


def main() -> None:
    from labeling.ui import hand_over
    from labeling.ui.access import current_account, run_pending, show_login, sidebar_account
    from labeling.ui.parts import start_worker_once
    from storage import current_project

    st.set_page_config(page_title="Medal", page_icon="🩻", layout="wide")
    project = current_project()  # the one place a script run reads MEDAL_HOME; pages take it from the context
    hand_over(project)
    start_worker_once(project=project)
    if current_account(project=project) is None:
        # Every page is known (hidden), so a deep link such as /train keeps its address through the log-in
        # and opens once logged in; until then only the log-in form runs.
        login = st.Page(partial(show_login, project=project), title="Log in", icon=":material/login:",
                        url_path="login", default=True)
        st.navigation([login, *_pages(None)], position="hidden")
        run_pending()
        show_login(project=project)
        return
    page = st.navigation(_pages(sidebar_account(project=project)))
    with st.sidebar:  # below the sidebar's account: when it goes, the page's own layout does not move
        run_pending()
    page.run()


if __name__ == "__main__":
    main()
elif __name__ != "__mp_main__":  # imported by `streamlit run` (or uvicorn): the server, with its routes and guard
    # (not in a process the import's worker pool spawns, which re-imports this file as __mp_main__: it must not
    # open, and so migrate, the project while the server holds it)
    from starlette.middleware import Middleware

    from labeling.ui import MedalGuard, routes
    from storage import current_project

    served = current_project()  # opened once for the server's own routes and guard
    app = st.App(__file__, routes=routes(served), middleware=[Middleware(MedalGuard, project=served)])
