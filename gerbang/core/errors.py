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


class ServiceUnavailable(Exception):
    """An outside system Gerbang depends on did not answer: 503 with a Retry-After, nothing saved."""

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
