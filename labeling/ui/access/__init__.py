"""The browser's half of logging in: the log-in form, the tab's logged-in account (re-read on every run),
the cookie routes and the tiny component that asks for them, and which tab is logged in with which
browser session. The accounts, rights and browser sessions themselves are in ``labeling.access``."""
