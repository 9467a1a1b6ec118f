"""``python -m signedhttp keygen KEY_ID FOLDER``: create ``FOLDER/KEY_ID.key`` (0600) and ``.pub`` if missing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .keys import KeyFileError, generate_keypair


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m signedhttp", description="Signed HTTP key tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="create an Ed25519 key pair if missing; print the public key")
    keygen.add_argument("key_id")
    keygen.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    try:
        pair = generate_keypair(args.key_id, args.folder)
    except (OSError, KeyFileError) as exc:
        print(f"signedhttp: {exc}", file=sys.stderr)
        return 2
    print(pair.public_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
