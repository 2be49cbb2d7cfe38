"""Who may do what: accounts and passwords (``accounts``), the rights of each role (``rights``) and the
server-side browser sessions behind the log-in cookie (``browser_sessions``). The browser's half (the
log-in form, the tab's session and the cookie routes) is in ``labeling.ui.access``."""
