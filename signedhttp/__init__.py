"""Signed HTTP between Gerbang and outside systems (RFC 9421 signatures, Ed25519, RFC 9530 digests).

See README.md. Pure Python, no Django: Gerbang and the services in ``services/``
both use it.
"""

from .client import RemoteError, post_json
from .keys import (
    KeyFileError,
    KeyPair,
    Keyring,
    generate_keypair,
    load_keypair,
    load_private_key,
    load_public_keys,
)
from .messages import (
    DEFAULT_MAX_AGE,
    MemoryNonceStore,
    NonceStore,
    SignatureError,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)

__all__ = [
    "DEFAULT_MAX_AGE",
    "KeyFileError",
    "KeyPair",
    "Keyring",
    "MemoryNonceStore",
    "NonceStore",
    "RemoteError",
    "SignatureError",
    "generate_keypair",
    "load_keypair",
    "load_private_key",
    "load_public_keys",
    "post_json",
    "sign_request",
    "sign_response",
    "verify_request",
    "verify_response",
]
