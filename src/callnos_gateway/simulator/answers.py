"""Bodies the fake upstream answers with: normal, failing and malformed.

Why: the upstream's answers vary in ways the gateway must absorb (``result``
as ``0`` or ``"0"``, a list under ``taskData`` or one record straight in
``resultData``, expirations as numbers or strings) and fail in ways it must
report (non-zero results, broken JSON, unexpected shapes, huge bodies). All of
those bytes are made here; writing them to the socket is ``delivery``'s job.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .config import SimulatorConfig
from .faults import Fault
from .records import VERSION
from .tokens import TokenPair

JSON_TYPE = "application/json;charset=UTF-8"
BROKEN_JSON = b'{"result":0,"resultData":{"taskData":[{"seviceId:"x"'
_WRONG_SHAPES = (
    [{"result": 0, "resultData": {"taskData": []}}],
    {"result": 0, "resultData": "taskData"},
    {"result": "0", "resultData": {"version": VERSION, "taskData": "none"}},
)
_CHUNK = 64 * 1024


@dataclass
class Answer:
    """One HTTP answer: status, body (bytes or streamed chunks) and bookkeeping."""

    status: int
    body: bytes = b""
    records: int = 0  # records in the body, counted once written in full
    success: bool = False  # a result-0 callnos answer
    chunks: Iterable[bytes] | None = None  # streamed body of ``length`` bytes
    length: int | None = None
    content_type: str = JSON_TYPE

    def parts(self) -> Iterable[bytes]:
        """Return the body as a sequence of byte strings."""
        return self.chunks if self.chunks is not None else (self.body,)

    def size(self) -> int:
        """Return the body length announced in Content-Length."""
        return self.length if self.length is not None else len(self.body)


def dumps(payload: Any) -> bytes:
    """Encode compact UTF-8 JSON (full-width characters stay as they are)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error(status: int, message: str, result: str | None = None) -> Answer:
    """Answer an HTTP error with the upstream's JSON envelope and a non-zero result."""
    return Answer(status, dumps({"result": result or str(status), "resultMessage": message}))


def business_failure(code: str) -> Answer:
    """Answer HTTP 200 with a non-zero ``result`` and no data."""
    return Answer(200, dumps({"result": code, "resultMessage": f"simulated business failure {code}"}))


def broken_json() -> Answer:
    """Answer HTTP 200 with the manual's own invalid JSON example, truncated."""
    return Answer(200, BROKEN_JSON)


def wrong_shape(variant: int) -> Answer:
    """Answer HTTP 200 with valid JSON of an unexpected shape."""
    return Answer(200, dumps(_WRONG_SHAPES[variant % len(_WRONG_SHAPES)]))


def huge(size: int) -> Answer:
    """Answer HTTP 200 with a valid JSON body of ``size`` bytes, streamed."""
    head = b'{"result":0,"resultData":{"version":"311","taskData":[],"padding":"'
    tail = b'"}}'
    padding = max(size - len(head) - len(tail), 0)
    return Answer(200, chunks=_padded(head, padding, tail), length=len(head) + padding + len(tail))


def for_fault(fault: Fault) -> Answer:
    """Return the answer that replaces the normal one under a replacing fault."""
    if fault.kind == "status":
        return error(int(fault.value or 500), f"simulated HTTP {fault.value}")
    if fault.kind == "result":
        return business_failure(str(fault.value))
    if fault.kind == "wrong_shape":
        return wrong_shape(int(fault.value or 0))
    if fault.kind == "huge":
        return huge(int(fault.value or 1))
    if fault.kind == "broken_json":
        return broken_json()
    raise ValueError(f"fault {fault.spec!r} does not replace the answer")


def _padded(head: bytes, padding: int, tail: bytes) -> Iterator[bytes]:
    yield head
    block = b"x" * _CHUNK
    while padding > 0:
        yield block[: min(padding, _CHUNK)]
        padding -= _CHUNK
    yield tail


def _ttl(value: float, as_string: bool) -> int | float | str:
    number = int(value) if float(value).is_integer() else value
    return str(number) if as_string else number


class AnswerMaker:
    """Success answers, varying deterministically as the configuration asks."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._config = config
        self.reset()

    def reset(self) -> None:
        """Restart every alternation from its beginning."""
        self._logins = itertools.count()
        self._singles = itertools.count()
        self._results = itertools.count()

    def login(self, pair: TokenPair) -> Answer:
        """Answer a login or refresh with a token pair."""
        mode = self._config.expiry_format
        as_string = mode == "string" or (mode == "mixed" and next(self._logins) % 2 == 1)
        data = {
            "token": pair.token,
            "tokenExpirationTime": _ttl(pair.token_ttl, as_string),
            "refreshToken": pair.refresh_token,
            "refreshExpirationTime": _ttl(pair.refresh_ttl, as_string),
        }
        return Answer(200, dumps({"result": "0" if as_string else 0, "resultData": data}))

    def callnos(self, records: list[dict[str, Any]]) -> Answer:
        """Answer a callnos request with these records, in either shape."""
        if len(records) == 1 and self._single_shape():
            data: dict[str, Any] = {"version": VERSION, **records[0]}
        else:
            data = {"version": VERSION, "taskData": records}
        body = dumps({"result": self._result(), "resultData": data})
        return Answer(200, body, records=len(records), success=True)

    def _single_shape(self) -> bool:
        shape = self._config.shape
        return shape == "single" or (shape == "mixed" and next(self._singles) % 2 == 1)

    def _result(self) -> int | str:
        spelling = self._config.spelling
        if spelling == "mixed":
            return 0 if next(self._results) % 2 == 0 else "0"
        return 0 if spelling == "doc" else "0"
