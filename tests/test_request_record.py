"""One typed record per request (callnos_gateway.api.request_record) instead of loose flask.g attributes."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from flask import Flask, g

from callnos_gateway.api import request_record
from callnos_gateway.api.request_record import ATTRIBUTE, RequestRecord, begin, current, peek

PACKAGE = Path(request_record.__file__).resolve().parent.parent


def test_every_field_says_who_writes_and_who_reads_it():
    tree = ast.parse(Path(request_record.__file__).read_text())
    (cls,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "RequestRecord"]
    documented = {}
    for field, after in zip(cls.body, cls.body[1:]):
        if isinstance(field, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            documented[field.target.id] = after.value.value
    assert set(documented) == {field.name for field in dataclasses.fields(RequestRecord)}
    for name, text in documented.items():
        assert "Written by" in text or "Written when" in text, name
        assert "read by" in text.lower(), name


def test_only_the_record_module_touches_flask_g():
    touching = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "simulator" or path == Path(request_record.__file__).resolve():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "flask" and any(a.name == "g" for a in node.names):
                touching.append(str(path.relative_to(PACKAGE)))
    assert touching == []


def test_begin_reads_the_request_id_and_current_and_peek_find_it():
    app = Flask(__name__)
    with app.test_request_context(headers={"X-Request-ID": "abc-123"}):
        assert peek() is None
        record = begin()
        assert (record.request_id, record.batch_id, record.replayed) == ("abc-123", None, False)
        assert current() is record is peek() is getattr(g, ATTRIBUTE)


def test_current_begins_a_record_when_none_was_begun():
    app = Flask(__name__)
    with app.test_request_context(headers={"X-Request-ID": "bad id with spaces"}):
        record = current()
        assert len(record.request_id) == 32 and peek() is record  # junk ids are never echoed
