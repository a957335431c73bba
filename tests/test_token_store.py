"""The token stores and the shared token source, in one process: the contract each store keeps.

Real stores only: a SQLite file in a temp dir, the session's redis-server,
and the in-memory store; the upstream is the simulator on loopback.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from callnos_gateway.upstream.auth import LoginTokens
from callnos_gateway.upstream.api import LoginApi
from callnos_gateway.errors import TokenWaitTimeout
from callnos_gateway.stores.tokens import StoredToken, open_token_store, token_key
from callnos_gateway.upstream.transport import Transport
from conftest import login_settings
from servers import free_port

KEY = token_key("http://upstream.example", "gateway")
TOKEN = StoredToken("tok-1", "ref-1", renew_at=100.0, expires_at=110.0, refresh_until=3000.0)
NEWER = StoredToken("tok-2", "ref-2", renew_at=200.0, expires_at=210.0, refresh_until=3100.0)


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def token_store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """CALLNOS_TOKEN_STORE of an empty store of each kind."""
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/token-store.sqlite3"
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return url


def test_a_token_is_stored_only_by_the_holder_of_the_renew_lock(token_store_url):
    store = open_token_store(token_store_url)
    assert store.get(KEY) is None
    assert store.put(KEY, TOKEN, "a", keep_for=60) is False  # nobody holds the lock
    assert store.acquire(KEY, "a", lease=30) and not store.acquire(KEY, "b", lease=30)
    assert store.acquire(KEY, "a", lease=30)  # the holder may extend its lease
    assert store.put(KEY, TOKEN, "a", keep_for=60) is True
    store.release(KEY, "b")  # not b's: stays
    assert store.put(KEY, NEWER, "b", keep_for=60) is False
    store.release(KEY, "a")
    assert store.acquire(KEY, "b", lease=30)
    assert store.get(KEY) == TOKEN


def test_the_renew_lock_of_a_vanished_holder_frees_itself_after_its_lease(token_store_url):
    store = open_token_store(token_store_url)
    assert store.acquire(KEY, "dead", lease=1.0)
    assert not store.acquire(KEY, "alive", lease=30)
    time.sleep(1.2)
    assert store.acquire(KEY, "alive", lease=30)
    assert store.put(KEY, TOKEN, "dead", keep_for=60) is False  # its lease ran out: it may not store


def test_compare_and_delete_drops_only_the_stored_token(token_store_url):
    store = open_token_store(token_store_url)
    store.acquire(KEY, "a", lease=30)
    store.put(KEY, NEWER, "a", keep_for=60)
    assert store.delete_if(KEY, "tok-1") is False  # a stale refusal
    assert store.get(KEY) == NEWER
    assert store.delete_if(KEY, "ref-2") is True  # the refresh token names it too
    assert store.get(KEY) is None


def test_a_stored_token_is_forgotten_after_keep_for(token_store_url):
    store = open_token_store(token_store_url)
    store.acquire(KEY, "a", lease=30)
    store.put(KEY, TOKEN, "a", keep_for=0.2)
    assert store.get(KEY) == TOKEN
    time.sleep(0.3)
    assert store.get(KEY) is None


def test_the_key_is_upstream_and_user():
    assert token_key("http://u.example/", "gateway") == token_key("http://u.example", "gateway")
    assert token_key("http://u.example", "gateway") != token_key("http://v.example", "gateway")
    assert token_key("http://u.example", "gateway") != token_key("http://u.example", "other")


def test_the_sqlite_file_is_created_0600_and_a_wider_one_is_narrowed(tmp_path):
    fresh = tmp_path / "var" / "token-store.sqlite3"
    store = open_token_store(f"sqlite:///{fresh}")
    assert not fresh.exists()  # nothing opened before first use
    store.acquire(KEY, "a", lease=30)
    store.put(KEY, TOKEN, "a", keep_for=60)
    for path in (fresh, *fresh.parent.glob("token-store.sqlite3-*")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    wide = tmp_path / "wide.sqlite3"
    wide.touch(mode=0o644)
    os.chmod(wide, 0o644)
    open_token_store(f"sqlite:///{wide}").get(KEY)
    assert stat.S_IMODE(wide.stat().st_mode) == 0o600


def sources(sim, url: str, count: int, **overrides) -> list[LoginTokens]:
    """``count`` token sources (as in ``count`` processes) sharing the store at ``url``."""
    settings = login_settings(sim.url, **overrides)
    key = token_key(settings.upstream_url, settings.username)
    return [LoginTokens(LoginApi(settings, Transport(settings)), open_token_store(url), key, lease=2.0)
            for _ in range(count)]


def test_sources_sharing_a_store_log_in_once(sim, token_store_url):
    sim.push_faults("login", ["latency:300"])
    first, second, third = sources(sim, token_store_url, 3)  # `memory`: each source its own store
    with ThreadPoolExecutor(max_workers=6) as pool:
        tokens = set(pool.map(lambda source: source.current(), [first, second, third] * 2))
    expected = 3 if token_store_url == "memory" else 1
    assert (len(tokens), sim.stats()["login"]) == (expected, expected)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def shared_store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """CALLNOS_TOKEN_STORE of an empty shared store: a SQLite file or a flushed Redis db."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/token-store.sqlite3"
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return url


def test_a_stale_refusal_never_drops_the_newer_token(sim, shared_store_url):
    token_store_url = shared_store_url
    sim.set_invalidating_login(True)
    one, other = sources(sim, token_store_url, 2)
    stale = one.current()
    assert other.current() == stale  # shared: no second login
    sim.expire_refresh_tokens()
    other.invalidate(stale)  # the other process was refused (say, the upstream restarted) and logs in
    newer = other.current()
    assert newer != stale and sim.stats()["login"] == 2
    assert one.current() == stale  # its copy is not due: it sends the stale token, which is refused
    one.invalidate(stale)
    assert open_token_store(token_store_url).get(one._key).token == newer  # still stored
    assert one.current() == newer
    assert sim.stats()["login"] == 2


def test_a_waiter_gives_up_after_its_bound_while_another_holds_the_lock(sim, tmp_path):
    url = f"sqlite:///{tmp_path}/token-store.sqlite3"
    (waiter,) = sources(sim, url, 1)
    open_token_store(url).acquire(waiter._key, "someone-else", lease=30)
    started = time.monotonic()
    with pytest.raises(TokenWaitTimeout) as caught:
        waiter.current()
    assert 2.0 <= time.monotonic() - started < 4.0  # lease 2 s + 0.5 s
    assert caught.value.code == "upstream_timeout" and "taken" not in caught.value.detail  # nothing was requested
    assert sim.stats()["login"] == 0  # never logged in itself


def test_an_unreachable_store_means_a_token_of_its_own_then_back_to_shared(sim, tmp_path, caplog):
    port = free_port()
    events: list[str] = []
    settings = login_settings(sim.url)
    source = LoginTokens(LoginApi(settings, Transport(settings)), open_token_store(f"redis://127.0.0.1:{port}/0"),
                         "k", on_event=events.append, lease=2.0)
    with caplog.at_level(logging.WARNING, logger="callnos_gateway.upstream.auth"):
        token = source.current()
    assert token and events == ["store_error", "login"]
    assert "token store unreachable" in caplog.text and token not in caplog.text


def test_readiness_answers_within_its_bound_while_the_login_hangs(sim):
    sim.push_faults("login", ["latency:1500"])
    (source,) = sources(sim, "memory", 1, read_timeout=3.0)
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(TokenWaitTimeout):
            source.ready(0.3)
    assert time.monotonic() - started < 1.4
    deadline = time.monotonic() + 5
    while sim.stats()["login"] == 0 or not _ready(source):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert sim.stats()["login"] == 1  # one login for all the probes


def test_readiness_answers_from_the_stored_token_without_a_login(sim, shared_store_url):
    first, second = sources(sim, shared_store_url, 2)
    first.current()
    sim.set_run_fault("login", "timeout:5")  # any login now would hang
    started = time.monotonic()
    second.ready(0.2)
    assert time.monotonic() - started < 0.2
    assert sim.stats()["login"] == 1


def _ready(source: LoginTokens) -> bool:
    try:
        source.ready(0.1)
    except TokenWaitTimeout:
        return False
    return True
