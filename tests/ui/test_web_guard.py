"""Medal's guard in front of Streamlit, its parts on their own (the attacks themselves, against a real
server, are in test_attacks_browser.py)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from labeling.ui.web_guard import client_of
from storage.config import Config, InvalidConfig

PROXY = (ip_network("10.0.0.5/32"),)


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "client"), [
    ("127.0.0.1", ["203.0.113.9"], (), "127.0.0.1"),  # no proxy configured: the header is anyone's to write
    ("198.51.100.4", ["203.0.113.9"], PROXY, "198.51.100.4"),  # not from the proxy: not believed
    ("10.0.0.5", ["203.0.113.9"], PROXY, "203.0.113.9"),  # from the proxy: the address it saw
    ("10.0.0.5", ["1.2.3.4, 203.0.113.9"], PROXY, "203.0.113.9"),  # what the client wrote itself is left of it
    ("10.0.0.5", ["1.2.3.4", "203.0.113.9, 10.0.0.5"], PROXY, "203.0.113.9"),  # two headers, proxies skipped
    ("10.0.0.5", ["not-an-address"], PROXY, "10.0.0.5"),  # garbled: only the proxy is known
    ("10.0.0.5", [], PROXY, "10.0.0.5"),
    (None, ["203.0.113.9"], PROXY, None),
])
def test_forwarded_for_is_believed_only_from_trusted_proxies(peer, forwarded, trusted, client) -> None:
    assert client_of(peer, forwarded, trusted) == client


def test_trusted_proxies_are_read_and_checked() -> None:
    config = Config.from_environ({"MEDAL_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16,::1"})
    assert config.trusted_proxies == (ip_network("10.0.0.5/32"), ip_network("10.1.0.0/16"), ip_network("::1/128"))
    assert Config.from_environ({}).trusted_proxies == ()
    with pytest.raises(InvalidConfig, match="MEDAL_TRUSTED_PROXIES"):
        Config.from_environ({"MEDAL_TRUSTED_PROXIES": "proxy.local"})


LOOPBACK = (ip_network("127.0.0.1/32"),)


@pytest.mark.parametrize(("uvicorn", "client", "forwarded", "trusted", "counted"), [
    # uvicorn (by default) replaced the loopback proxy's address by the header's: undone
    (None, ("203.0.113.1", 0), ["203.0.113.1"], (), "127.0.0.1"),
    (None, ("203.0.113.1", 4444), ["203.0.113.1:4444"], (), "127.0.0.1"),
    (None, ("203.0.113.1", 0), ["203.0.113.1"], LOOPBACK, "203.0.113.1"),  # Medal trusts the local proxy
    (None, ("203.0.113.1", 0), ["198.51.100.9, 203.0.113.1"], LOOPBACK, "203.0.113.1"),
    (None, ("198.51.100.4", 50123), ["203.0.113.1"], LOOPBACK, "198.51.100.4"),  # not replaced: who connected
    (None, ("127.0.0.1", 50123), [], (), "127.0.0.1"),
    ("10.0.0.5", ("203.0.113.1", 0), ["203.0.113.1"], (), "10.0.0.5"),  # uvicorn told to trust a proxy
    ("10.0.0.5", ("203.0.113.1", 0), ["203.0.113.1"], PROXY, "203.0.113.1"),  # ... and so is Medal
])
def test_uvicorns_own_replacement_is_undone_unless_medal_trusts_the_proxy(
        monkeypatch: pytest.MonkeyPatch, uvicorn, client, forwarded, trusted, counted) -> None:
    from labeling.ui.web_guard import client_from_scope

    if uvicorn is None:
        monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    else:
        monkeypatch.setenv("FORWARDED_ALLOW_IPS", uvicorn)
    assert client_from_scope(client, forwarded, trusted) == counted


def test_uploads_under_way_count_against_the_tab_and_the_server() -> None:
    from labeling.ui.web_guard import MB, _Uploads

    uploads, limits = _Uploads(), (10 * MB, 15 * MB)
    assert uploads.reserve("tab-1", 6 * MB, (0, 0), limits) is None  # under way, not yet in Streamlit's store
    assert "This tab already holds 6 MB" in uploads.reserve("tab-1", 6 * MB, (0, 0), limits)
    assert uploads.reserve("tab-2", 6 * MB, (0, 0), limits) is None
    assert "The server holds" in uploads.reserve("tab-3", 6 * MB, (0, 0), limits)
    uploads.release("tab-1", 6 * MB)
    uploads.release("tab-2", 6 * MB)  # finished: now in Streamlit's store (the held figures)
    assert uploads.reserve("tab-1", 6 * MB, (0, 6 * MB), limits) is None
    assert "This tab already holds 5 MB" in uploads.reserve("tab-4", 6 * MB, (5 * MB, 5 * MB), limits)
