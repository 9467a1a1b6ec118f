"""gunicorn's access log without the anonymous paths (set by config/gunicorn.py as ``logger_class``).

gunicorn's access log line holds the client address and the browser ("%(h)s" and "%(a)s" of the default
format). Requests to the whistle-blowing pages must leave none (issue 9), so :class:`AnonymousPathsLogger`
writes no line at all for them: not a redacted one, since even the time and size of a request to /lapor/ next
to other lines from the same address would tell who reported.

This module runs in gunicorn's master, before Django is set up, so it does not read Django's settings: the
paths are the constant below, which config/settings.py's ANONYMOUS_PATHS should be taken from (one list).
A request is also skipped when Django's AnonymousPathMiddleware marked its environ.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote, urlsplit

from gunicorn.glogging import Logger

# Paths ending in "/" cover that path without the slash and everything below it.
ANONYMOUS_PATHS: tuple[str, ...] = ("/lapor/",)
ENVIRON_FLAG = "gerbang.anonymous"  # set by gerbang.supervision.anonymous.AnonymousPathMiddleware


def is_anonymous(path: str, prefixes: tuple[str, ...] = ANONYMOUS_PATHS) -> bool:
    return any(path.startswith(p) or (p.endswith("/") and path == p[:-1]) for p in prefixes)


def _path(req: Any, environ: dict[str, Any]) -> str:
    path = environ.get("PATH_INFO")
    if isinstance(path, str) and path:
        return path
    # Before the environ was built (a malformed request): the raw path, percent-decoded as Django would.
    return unquote(str(getattr(req, "path", "") or ""))


class AnonymousPathsLogger(Logger):
    """gunicorn's Logger, writing no access line for requests under ANONYMOUS_PATHS."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: dt.timedelta) -> None:
        if environ.get(ENVIRON_FLAG) or is_anonymous(_path(req, environ)):
            return
        # A request made from an anonymous page (its stylesheet, a link followed) whose browser still sent the
        # page's path as Referer despite the page's strict-origin policy: not logged either.
        if is_anonymous(urlsplit(str(environ.get("HTTP_REFERER", ""))).path):
            return
        super().access(resp, req, environ, request_time)
