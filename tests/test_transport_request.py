"""The transport sends exactly what ``requests.Session.post`` sent, without its per-call merging.

Why: the transport prepares its request itself (``Transport._prepared``) to
skip ~0.1 ms of merging per exchange; the upstream must see the same request
line, headers (names, values, order) and body as before, with or without an
auth object, and the auth object's response hook must still run.
"""

from __future__ import annotations

import orjson
import pytest
from pytest_httpserver import HTTPServer
from requests.auth import AuthBase, HTTPBasicAuth

from callnos_gateway.upstream.transport import JSON_HEADERS, Transport, build_session
from conftest import settings_for

PATH = "/rest/isales/v1/openapi/obs/business/callnos"
PAYLOAD = {"subCCNo": 1, "vdnId": 1, "serviceId": 7, "batchCount": 3, "note": "é"}


class HookedAuth(AuthBase):
    """Like ``CallnosAuth``: a header, and a response hook that must be called."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def __call__(self, request):
        request.headers["Authorization"] = "Bearer t0ken"
        request.register_hook("response", lambda response, **_: self.seen.append(response.status_code))
        return request


def _sent(httpserver: HTTPServer, index: int) -> tuple[str, str, list[tuple[str, str]], bytes]:
    request = httpserver.log[index][0]
    return request.method, request.full_path, list(request.headers.items()), request.get_data()


@pytest.mark.parametrize("make_auth", [lambda: None, lambda: HTTPBasicAuth("user", "secret"), HookedAuth],
                         ids=["none", "basic", "hooked"])
@pytest.mark.parametrize("headers", [None, {"X-Request-ID": "req-1"}, {"accept": "text/plain"}], ids=["no-headers", "request-id", "lower-case-override"])
def test_the_upstream_sees_what_session_post_sent(httpserver: HTTPServer, make_auth, headers):
    auth = make_auth()
    httpserver.expect_request(PATH, method="POST").respond_with_json({"result": "0"})
    settings = settings_for(httpserver.url_for("/"))
    body = orjson.dumps(PAYLOAD)
    build_session(settings).post(settings.upstream_url.rstrip("/") + PATH, data=body, auth=auth, stream=True,
                                 headers={**JSON_HEADERS, **(headers or {})}, timeout=(1, 1), allow_redirects=False)
    reply = Transport(settings).post(PATH, PAYLOAD, auth=auth, headers=headers)
    assert reply.status == 200 and orjson.loads(reply.body) == {"result": "0"}
    assert len(httpserver.log) == 2
    assert _sent(httpserver, 1) == _sent(httpserver, 0)
    if isinstance(auth, HookedAuth):
        assert auth.seen == [200, 200]


def test_the_prepared_url_is_requests_own_and_kept_per_path(httpserver: HTTPServer):
    httpserver.expect_request("/a b/callnos", method="POST").respond_with_json({"result": "0"})
    transport = Transport(settings_for(httpserver.url_for("/")))
    for _ in range(2):
        assert transport.post("/a b/callnos", {}).status == 200
    assert list(transport._urls.values()) == [httpserver.url_for("/a%20b/callnos")]
