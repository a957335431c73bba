"""BodyFirst: the body is read before a slot is taken, and the slot is back before the answer is written."""

from __future__ import annotations

import io

from callnos_gateway.server.admission import BodyFirst


class Slots:
    """A slot counter that records what the app saw while holding one."""

    def __init__(self) -> None:
        self.held = 0

    def __enter__(self):
        self.held += 1

    def __exit__(self, *exc):
        self.held -= 1


class Dripping(io.RawIOBase):
    """A request body whose reads are counted (as a socket's would be)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.reads = io.BytesIO(data), 0

    def read(self, size=-1):
        self.reads += 1
        return self.data.read(size)


def run(environ: dict, max_body: int = 16):
    slots, seen = Slots(), {}

    def app(env, start_response):
        seen.update(held=slots.held, body=env["wsgi.input"].read())
        return [b"answer"]

    answer = BodyFirst(app, slots, max_body)(environ, lambda *a: None)
    return seen, slots.held, answer


def test_a_declared_body_is_read_before_the_slot_and_the_slot_is_back_before_the_answer():
    stream = Dripping(b'{"task_id": 1}')
    seen, held_after, answer = run({"CONTENT_LENGTH": "14", "wsgi.input": stream})
    assert seen == {"held": 1, "body": b'{"task_id": 1}'}
    assert stream.reads == 1 and held_after == 0 and answer == [b"answer"]


def test_a_declared_body_over_the_limit_is_left_for_the_app_to_refuse():
    stream = Dripping(b"x" * 40)
    environ = {"CONTENT_LENGTH": "40", "wsgi.input": stream}
    run(environ)
    assert environ["wsgi.input"] is stream


def test_a_chunked_body_is_read_one_byte_past_the_limit_so_the_app_still_sees_it_too_large():
    seen, _, _ = run({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": Dripping(b"y" * 40)})
    assert seen["body"] == b"y" * 17


def test_a_request_without_a_body_is_not_read():
    stream = Dripping(b"")
    environ = {"wsgi.input": stream}
    run(environ)
    assert environ["wsgi.input"] is stream and stream.reads == 1  # the app's own read only
