"""The answers of the tasks and holidays routes, and the holiday id they take.

Schemas here document the API and pin its shape; the views build the same
dicts directly (the answers are small).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

TEXT = validate.Length(min=1, max=256)


class TaskSchema(Schema):
    task_id = fields.String(required=True, metadata={"description": "The upstream's serviceId (or seviceId), as a string.", "example": "1001"})


class TasksResponseSchema(Schema):
    """The tasks of a call center and VCC, in the upstream's order."""

    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    count = fields.Integer(required=True, metadata={"example": 1})


class HolidayResponseSchema(Schema):
    """Whether a holiday rule applies (the upstream's isHoliday 0/1 as a boolean)."""

    holiday_id = fields.String(required=True, metadata={"example": "7"})
    is_holiday = fields.Boolean(required=True, metadata={"example": True})


def tasks_answer(task_ids: list[str]) -> dict[str, object]:
    """The tasks answer body."""
    return {"tasks": [{"task_id": task_id} for task_id in task_ids], "count": len(task_ids)}


def holiday_answer(holiday_id: str, is_holiday: bool) -> dict[str, object]:
    """The holidays answer body."""
    return {"holiday_id": holiday_id, "is_holiday": is_holiday}


def checked_holiday_id(value: str) -> str:
    """The holiday id from the path, 1..256 characters (sent upstream as a string)."""
    try:
        TEXT(value)
    except ValidationError as error:
        raise ValidationError({"holiday_id": error.messages}) from None
    return value
