"""Sign and verify HTTP requests and responses (RFC 9421 with Ed25519, RFC 9530 Content-Digest).

The profile, the same on both sides:

- one signature labelled ``sig`` with ``tag="gerbang-signedhttp/1"``, parameters
  ``created``, ``keyid``, ``alg="ed25519"`` and, on requests, a random ``nonce``;
- a request signature covers ``@method``, ``@target-uri``, ``content-type`` and
  ``content-digest`` (``sha-256`` of the exact body bytes, also for an empty body);
- a response signature covers ``@status``, ``content-type``, ``content-digest``
  and, from the request it answers, ``"@method";req``, ``"@target-uri";req`` and
  ``"signature";req;key="sig"``: the answer is bound to that one signed request,
  so an old answer cannot be replayed for a new question.

The cryptography and the RFC 9421 signature base are done by the
``http-message-signatures`` library; this module fixes the policy (which
components must be covered, how old a signature may be, nonces) and turns every
failure into one :class:`SignatureError`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import http_sf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from .keys import Keyring, check_key_id

TAG = "gerbang-signedhttp/1"
LABEL = "sig"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-type", "content-digest")
RESPONSE_COMPONENTS = ("@status", "content-type", "content-digest", '"@method";req', '"@target-uri";req')
REQUEST_SIGNATURE_BINDING = f'"signature";req;key="{LABEL}"'
SIGNATURE_HEADERS = ("content-digest", "signature-input", "signature")
MAX_CLOCK_SKEW = timedelta(seconds=30)
DEFAULT_MAX_AGE = 300


class SignatureError(Exception):
    """A message is unsigned, badly signed, too old, replayed or signed by a key we do not trust."""


class HeaderSource(Protocol):
    """Anything with ``items()`` of header lines: a dict, or ``http.client.HTTPMessage`` (keeps repeated lines)."""

    def items(self) -> Iterable[tuple[str, Any]]: ...


class NonceStore(Protocol):
    """Remembers the nonces of accepted requests until they expire."""

    def use(self, key_id: str, nonce: str, expires: float) -> bool:
        """Record ``nonce`` of ``key_id`` until ``expires`` (a Unix time); ``False`` if it was already used."""
        ...


class MemoryNonceStore:
    """A thread-safe in-process :class:`NonceStore` (forgets on restart)."""

    def __init__(self, clock: Any = time.time) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def use(self, key_id: str, nonce: str, expires: float) -> bool:
        with self._lock:
            now = self._clock()
            for key in [k for k, until in self._seen.items() if until < now]:
                del self._seen[key]
            if (key_id, nonce) in self._seen:
                return False
            self._seen[key_id, nonce] = expires
            return True


class _Fields:
    """Header field lines in order, in the shape the library reads and writes."""

    def __init__(self, headers: HeaderSource) -> None:
        self.lines: list[tuple[str, str]] = [(str(name), str(value)) for name, value in headers.items()]

    def items(self) -> list[tuple[str, str]]:
        return list(self.lines)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self.lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self.lines)

    def __setitem__(self, name: str, value: str) -> None:
        del self[name]
        self.lines.append((name, value))

    def __delitem__(self, name: str) -> None:
        self.lines = [(n, v) for n, v in self.lines if n.lower() != name.lower()]

    def get(self, name: str) -> str | None:
        values = [v for n, v in self.lines if n.lower() == name.lower()]
        return ", ".join(values) if values else None


@dataclass
class _Request:
    method: str
    url: str
    headers: _Fields


@dataclass
class _Response:
    status_code: int
    headers: _Fields
    request: _Request


class _Verifier(HTTPMessageVerifier):
    max_clock_skew = MAX_CLOCK_SKEW
    require_created = True


class _UnknownKey(InvalidSignature):
    pass


class _StrictResolver(HTTPSignatureKeyResolver):
    """The keyring, raising a clear error for a key id it does not hold."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def resolve_public_key(self, key_id: str) -> Any:
        key = self.keyring.resolve_public_key(key_id)
        if key is None:
            raise _UnknownKey(f"signed by unknown key {key_id!r}")
        return key

    def resolve_private_key(self, key_id: str) -> Any:
        raise KeyError(key_id)


def _now() -> datetime:
    return datetime.now(UTC)


def _signer(key_id: str, private_key: Ed25519PrivateKey) -> HTTPMessageSigner:
    if not isinstance(private_key, Ed25519PrivateKey):
        raise TypeError("private_key must be an Ed25519 private key")
    resolver = MappingKeyResolver(public_keys={}, private_keys={check_key_id(key_id): private_key})
    return HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=resolver)


def _unsigned(headers: HeaderSource) -> _Fields:
    fields = _Fields(headers)
    for name in SIGNATURE_HEADERS:
        del fields[name]
    return fields


def _added(before: _Fields, after: _Fields) -> dict[str, str]:
    old = {n.lower() for n, _ in before.lines}
    return {n: v for n, v in after.lines if n.lower() in SIGNATURE_HEADERS and n.lower() not in old}


def sign_request(
    method: str,
    url: str,
    headers: HeaderSource,
    body: bytes,
    *,
    key_id: str,
    private_key: Ed25519PrivateKey,
    created: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers to add to a request: ``Content-Digest``, ``Signature-Input`` and ``Signature``.

    ``url`` is the absolute URL as sent (``http://host:port/path?query``);
    ``headers`` must carry the ``Content-Type``. Any signature headers already in
    ``headers`` are ignored (they are replaced by the returned ones).
    """
    fields = _unsigned(headers)
    if fields.get("content-type") is None:
        raise ValueError("a signed request needs a Content-Type header")
    message = _Request(method.upper(), url, _Fields(fields))
    try:
        _signer(key_id, private_key).sign(
            message,
            key_id=key_id,
            created=created or _now(),
            nonce=nonce or secrets.token_urlsafe(18),
            label=LABEL,
            tag=TAG,
            covered_component_ids=REQUEST_COMPONENTS,
            body=bytes(body),
        )
    except HTTPMessageSignaturesException as exc:
        raise ValueError(f"cannot sign the request: {exc}") from exc
    return _added(fields, message.headers)


def verify_request(
    method: str,
    url: str,
    headers: HeaderSource,
    body: bytes,
    keyring: Keyring,
    *,
    max_age: int = DEFAULT_MAX_AGE,
    nonces: NonceStore | None = None,
) -> str:
    """Check a request's signature; return the key id that signed it.

    Raises :class:`SignatureError` when the signature or its headers are missing
    or malformed, a required component is not covered, the body does not match
    the signed ``Content-Digest``, the key id is not in ``keyring``, ``created``
    is older than ``max_age`` seconds or in the future, the nonce is missing, or
    (with ``nonces``) the nonce was already used.
    """
    message = _Request(method.upper(), url, _Fields(headers))
    result = _verify(message, body, keyring, max_age, REQUEST_COMPONENTS)
    key_id, nonce, created = str(result.parameters["keyid"]), result.nonce, result.parameters["created"]
    if not nonce:
        raise SignatureError("the signature carries no nonce")
    if nonces is not None:
        expires = float(created) + max_age + MAX_CLOCK_SKEW.total_seconds()
        if not nonces.use(key_id, nonce, expires):
            raise SignatureError("replayed request: this nonce was already used")
    return key_id


def sign_response(
    status: int,
    headers: HeaderSource,
    body: bytes,
    *,
    key_id: str,
    private_key: Ed25519PrivateKey,
    request_method: str,
    request_url: str,
    request_headers: HeaderSource,
    created: datetime | None = None,
) -> dict[str, str]:
    """The headers to add to a response answering the given request (see the module's profile).

    The response is bound to the request's signature when the request carries
    one. If the request's URL or signature is unusable (an answer to a garbled
    request), the response is signed without the request components, and a
    client that sent a signed request will refuse it.
    """
    fields = _unsigned(headers)
    if fields.get("content-type") is None:
        raise ValueError("a signed response needs a Content-Type header")
    request = _Request(request_method.upper(), request_url, _Fields(request_headers))
    components = list(RESPONSE_COMPONENTS)
    if _has_request_signature(request.headers):
        components.append(REQUEST_SIGNATURE_BINDING)
    signer = _signer(key_id, private_key)
    moment = created or _now()
    for covered in (components, components[:3]):
        message = _Response(status, _Fields(fields), request)
        try:
            signer.sign(
                message, key_id=key_id, created=moment, label=LABEL, tag=TAG, covered_component_ids=covered, body=body
            )
        except HTTPMessageSignaturesException:
            continue
        return _added(fields, message.headers)
    raise ValueError("cannot sign the response")


def verify_response(
    status: int,
    headers: HeaderSource,
    body: bytes,
    keyring: Keyring,
    *,
    request_method: str,
    request_url: str,
    request_headers: HeaderSource,
    max_age: int = DEFAULT_MAX_AGE,
) -> str:
    """Check that a response was signed by a key in ``keyring`` for this very request; return the key id.

    ``request_headers`` are the headers the request was sent with (including its
    signature). Raises :class:`SignatureError` as :func:`verify_request` does.
    """
    request = _Request(request_method.upper(), request_url, _Fields(request_headers))
    required = list(RESPONSE_COMPONENTS)
    if _has_request_signature(request.headers):
        required.append(REQUEST_SIGNATURE_BINDING)
    result = _verify(_Response(status, _Fields(headers), request), body, keyring, max_age, tuple(required))
    return str(result.parameters["keyid"])


def _has_request_signature(headers: _Fields) -> bool:
    value = headers.get("signature")
    if value is None:
        return False
    try:
        parsed = http_sf.parse(value.encode(), tltype="dictionary")
    except (ValueError, TypeError, UnicodeError):
        return False
    return isinstance(parsed, dict) and LABEL in parsed


def _verify(
    message: _Request | _Response, body: bytes, keyring: Keyring, max_age: int, required: tuple[str, ...]
) -> Any:
    if "signature" not in message.headers or "signature-input" not in message.headers:
        raise SignatureError("the message is not signed (no Signature / Signature-Input header)")
    if "content-digest" not in message.headers:
        raise SignatureError("the message carries no Content-Digest header")
    verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=_StrictResolver(keyring))
    try:
        results = verifier.verify(
            message,
            max_age=timedelta(seconds=max_age),
            expect_tag=TAG,
            require_components=required,
            body=bytes(body),
        )
    except _UnknownKey as exc:
        raise SignatureError(str(exc)) from exc
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        raise SignatureError(_reason(exc)) from exc
    if len(results) != 1:
        raise SignatureError(f"expected one signature tagged {TAG!r}, found {len(results)}")
    return results[0]


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, Exception) and not str(cause):  # cryptography's InvalidSignature has no message
        text = "the signature does not match the message"
    return f"invalid signature: {text}"
