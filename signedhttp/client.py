"""A small signed JSON client over ``urllib``: sign the request, verify the signed answer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .keys import Keyring
from .messages import sign_request, verify_response

MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class RemoteError(Exception):
    """The service could not be reached, or its (correctly signed) answer is not JSON."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is never followed: it would be a different, unsigned exchange."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post_json(
    url: str,
    payload: Any,
    *,
    key_id: str,
    private_key: Ed25519PrivateKey,
    keyring: Keyring,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """POST ``payload`` as signed JSON to ``url``; return ``(status, json)`` of the verified answer.

    Every answer must be signed by a key in ``keyring`` and bound to this request,
    error answers (4xx, 5xx) included; otherwise :class:`~signedhttp.SignatureError`
    is raised. :class:`RemoteError` is raised when nobody answers, on timeouts,
    and when a signed body is not JSON. Proxies from the environment are not used
    and redirects are not followed.
    """
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    headers |= sign_request("POST", url, headers, body, key_id=key_id, private_key=private_key)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (checked above)
    try:
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                status, answer_headers, answer = response.status, response.headers, response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            status, answer_headers, answer = exc.code, exc.headers, exc.read(MAX_RESPONSE_BYTES)
    except OSError as exc:  # URLError, timeouts, refused connections
        raise RemoteError(f"cannot reach {url}: {exc}") from exc
    verify_response(
        status,
        answer_headers,
        answer,
        keyring,
        request_method="POST",
        request_url=url,
        request_headers=headers,
    )
    try:
        return status, json.loads(answer.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise RemoteError(f"{url} answered HTTP {status} with a body that is not JSON") from exc
