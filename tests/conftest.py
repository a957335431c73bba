"""Shared fixtures: settings built explicitly, the gateway app, and real loopback upstreams."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from callnos_gateway.settings import Settings
from callnos_gateway.app import create_app
from callnos_gateway.simulator import Simulator, SimulatorConfig

pytest_plugins = ["plugins.redis_notice"]

API_KEY = "test-key-3f9a1c"
STATIC_TOKEN = "static-token-7e51d0"
SIM_USER, SIM_PASSWORD = "gateway", "s3cret-pa55word"
CALLNOS = "/rest/isales/v1/openapi/obs/business/callnos"
LOGIN = "/rest/isales/v1/openapi/obs/auth/login"
REFRESH = "/rest/isales/v1/openapi/obs/auth/refresh"
FETCH = {"task_id": 1001, "batch_size": 5}
LEDGER_DIR = tempfile.mkdtemp(prefix="callnos-test-ledgers-")  # each in-process app keeps its own ledger file here
_LEDGERS = itertools.count()


@pytest.fixture(autouse=True)
def _clean_callnos_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the CALLNOS_* settings of the machine it runs on."""
    for name in list(os.environ):
        if name.startswith("CALLNOS_"):
            monkeypatch.delenv(name)


def settings_for(upstream_url: str, **overrides) -> Settings:
    """Settings for tests: short timeouts, one inbound key, default ids."""
    values = dict(
        upstream_url=upstream_url,
        auth_mode="static",
        token=STATIC_TOKEN,
        api_keys=(API_KEY,),
        sub_cc_no=1,
        vdn_id=1,
        connect_timeout=0.5,
        read_timeout=1.0,
        retry_backoff=0.01,
        dead_letter_dir=None,
        token_store="memory",  # in-process apps keep their own token unless a test names a store
        quota_url="memory",  # and their own quotas, slots and circuit
        ledger_url=f"sqlite:///{LEDGER_DIR}/ledger-{next(_LEDGERS)}.sqlite3",  # a ledger of its own
    )
    values.update(overrides)
    return Settings(**values)


def login_settings(upstream_url: str, **overrides) -> Settings:
    """Settings that log in to the simulator."""
    values = dict(auth_mode="login", token=None, username=SIM_USER, password=SIM_PASSWORD)
    return settings_for(upstream_url, **{**values, **overrides})


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A fresh simulator on a free loopback port."""
    simulator = Simulator(SimulatorConfig(port=0, user=SIM_USER, password=SIM_PASSWORD))
    simulator.start()
    yield simulator
    simulator.stop()


GatewayFactory = Callable[..., FlaskClient]


@pytest.fixture
def gateway() -> GatewayFactory:
    """Build a test client of a gateway app from ``Settings``."""

    def build(settings: Settings) -> FlaskClient:
        return create_app(settings).test_client()

    return build


@pytest.fixture
def app_client(gateway: GatewayFactory) -> FlaskClient:
    """A gateway app that calls nothing (its upstream is a closed port): routes, docs, refusals."""
    return gateway(settings_for("http://127.0.0.1:9"))


@pytest.fixture
def document(app_client: FlaskClient) -> dict:
    """The app's OpenAPI document."""
    return app_client.get("/openapi.json").json


@pytest.fixture
def client(sim: Simulator, gateway: GatewayFactory) -> FlaskClient:
    """A gateway in login mode in front of the simulator."""
    return gateway(login_settings(sim.url))


def fetch(client: FlaskClient, body: object = None, **headers: str):
    """POST /v1/call-data with the test key (unless overridden)."""
    headers = {"X-API-Key": API_KEY, **headers}
    return client.post("/v1/call-data", json=FETCH if body is None else body, headers=headers)
