"""The upstream record schema's fast path: its declared fields as plain coercions.

Why: marshmallow's ``load`` spends ~15 µs on a record here (hooks, an error
store, several calls per field), the largest share of a batch's cost, while
nearly every record is plain: each value a string, a number, a list of them,
or null. ``RecordPlan.from_schema`` reads the schema once, at import: for each
declared field, its name, its ``data_key`` (with the misspelling folded into
it) and its field class's ``plain`` coercion. ``read`` applies them and gives
up on a record at the first value a coercion refuses; that record goes
through the schema itself, warnings and all. So marshmallow stays where the
record is defined, and a schema the plan cannot mirror (a field without
``plain``, a validator, null refused, a required field, another hook) gets no
plan: every record then takes the schema, slower but the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema
from marshmallow.fields import Field

from callnos_gateway.records.fields import NotPlain

Coercion = Callable[[Any], Any]
Batch = Callable[[list[Any]], list[Any]]
PlanField = tuple[str, str, "str | None", Coercion]  # name, data key, misspelled key, plain coercion


class RecordPlan:
    """For each field: (name, data key, misspelled key or None, plain coercion).

    A field class may also name ``plain_batch``: (a first coercion of one
    value, a function finishing a list of those). ``read_all`` then takes
    that field of all a batch's records in one call (the ieData strings, read
    together by ``callnos_gateway.records.iedata_fast``), with the same result as ``plain``.

    The fields are read by a function written for them once, at import
    (``_compiled``): the loop over the fields unrolled, each key a constant,
    and a string taken as it is where the coercion keeps strings
    (``keeps_str``), with no call. Same steps as the loop, a third of the time.
    """

    __slots__ = ("fields", "names", "batches", "_read", "_read_for_batch")

    def __init__(self, fields: tuple[PlanField, ...], batches: tuple[tuple[Coercion, Batch] | None, ...] = ()) -> None:
        self.fields = fields
        self.names = tuple(name for name, *_ in fields)
        batches = batches or (None,) * len(fields)
        self.batches = tuple((position, found[1]) for position, found in enumerate(batches) if found is not None)
        self._read = _compiled(fields)
        self._read_for_batch = _compiled(tuple((name, key, alias, coerce if found is None else found[0])
                                               for (name, key, alias, coerce), found in zip(fields, batches)))

    @classmethod
    def from_schema(
        cls, schema: Schema, misspellings: Mapping[str, str], fold_hook: str, first: tuple[str, ...] = ()
    ) -> RecordPlan | None:
        """Mirror the schema's load fields, ``first`` first and in that order; None if it cannot.

        ``fold_hook`` names the one hook allowed: the ``pre_load`` that folds
        ``misspellings``, which ``read`` does itself. Any other hook, or unknown
        fields not simply dropped, could change a record in ways the plan
        would not see.
        """
        fields = schema.load_fields
        if _hook_names(schema) != {fold_hook} or schema.unknown != EXCLUDE or not set(first) <= set(fields):
            return None
        alias_of = {right: wrong for wrong, right in misspellings.items()}
        order = [*first, *(name for name in fields if name not in first)]
        plan = [_mirror(name, fields[name], alias_of) for name in order]
        if None in plan:
            return None
        return cls(tuple(plan), tuple(getattr(type(fields[name]), "plain_batch", None) for name in order))

    def read_all(self, raws: list[Any]) -> list[list[Any] | None]:
        """``read`` of each record (None for a record that is not an object), batched fields read together."""
        rows = [_plainly(self._read_for_batch, raw) if isinstance(raw, dict) else None for raw in raws]
        for position, finish in self.batches:
            cells = [row for row in rows if row is not None and row[position] is not None]
            for row, value in zip(cells, finish([row[position] for row in cells])):
                row[position] = value
        return rows

    def read(self, raw: dict[str, Any]) -> list[Any] | None:
        """Return the record's values in plan order (absent ones null), or None if one is not plain."""
        return _plainly(self._read, raw)


def _plainly(read: Callable[[dict[str, Any]], list[Any]], raw: dict[str, Any]) -> list[Any] | None:
    try:
        return read(raw)
    except NotPlain:
        return None


def _compiled(fields: tuple[PlanField, ...]) -> Callable[[dict[str, Any]], list[Any]]:
    """A function reading these fields of a record: absent or null is None, else the coerced value.

    The misspelling counts only without the right spelling. Keys are written
    with ``repr``, so any string the schema names is a literal here.
    """
    lines, scope = ["def read(raw):", "    get = raw.get"], {}
    for index, (_, key, alias, coerce) in enumerate(fields):
        value, scope[f"coerce{index}"] = f"v{index}", coerce
        lines.append(f"    {value} = get({key!r})")
        if alias is not None:
            lines += [f"    if {value} is None and {key!r} not in raw:", f"        {value} = get({alias!r})"]
        keeps_str = f" and type({value}) is not str" if getattr(coerce, "keeps_str", False) else ""
        lines += [f"    if {value} is not None{keeps_str}:", f"        {value} = coerce{index}({value})"]
    lines.append(f"    return [{', '.join(f'v{index}' for index in range(len(fields)))}]")
    exec("\n".join(lines), scope)  # noqa: S102  # our own text, from the schema's keys
    return scope["read"]


def _hook_names(schema: Schema) -> set[str] | None:
    """The names of the schema's decorated hooks (marshmallow keeps them in ``_hooks``)."""
    hooks = getattr(schema, "_hooks", None)
    return None if hooks is None else {name for found in hooks.values() for name, *_ in found}


def _mirror(name: str, field: Field, alias_of: Mapping[str, str]) -> PlanField | None:
    """The plan's entry for one field, or None if its load does more than ``plain`` shows."""
    coerce = getattr(type(field), "plain", None)
    if coerce is None or field.validators or not field.allow_none or field.required:
        return None
    key = field.data_key or name
    return name, key, alias_of.get(key), coerce
