"""Errors the JSON API turns into field-level 4xx answers (see config/api.py)."""

from __future__ import annotations


class FieldError(Exception):
    """A request value that is well-formed but not acceptable: answered with 422.

    ``location`` is ``"query"``, ``"path"`` or ``"body"``; the answer is
    ``{"detail": [{"loc": [location, field], "msg": message}]}``, the shape of
    django-ninja's own validation errors.
    """

    def __init__(self, field: str, message: str, *, location: str = "query") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.location = location
