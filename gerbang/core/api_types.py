"""Shared pieces of the JSON API: the error shapes in the OpenAPI document, a strict date, a strict body parser."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Schema
from ninja.parser import Parser
from pydantic import BeforeValidator

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (or a date): pydantic would otherwise read ``0`` as 1970-01-01."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        raise ValueError("a date is written YYYY-MM-DD")
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]


class FieldMessage(Schema):
    loc: list[str | int]
    msg: str


class ErrorOut(Schema):
    """Every 4xx answer: a message, or (422) one message per field with its location."""

    detail: str | list[FieldMessage]


# For `response=`: the client errors any applicant operation may answer.
CLIENT_ERRORS = frozenset({400, 401, 403, 404, 409, 422, 429})


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return dict.fromkeys(codes or sorted(CLIENT_ERRORS), ErrorOut)


class ObjectBodyParser(Parser):
    """A JSON body must be an object: ``5`` or ``[null]`` is not a request with every field left out."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValueError("the request body must be a JSON object")
        return data
