"""``python -m services.bank.export``: write a day's statement as a file with a detached signature.

Banks that cannot be fetched from hand Gerbang's finance office files instead.
The file is the same bytes the API serves; ``<file>.sig`` holds one line, a
``Gerbang-Signature`` value (``t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<file bytes>">``) made with the shared secret. Gerbang's
``manage.py reconcile --file`` refuses a file whose signature does not verify.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from . import statements
from .protocol import load_secrets, sign
from .store import WIB, Store


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.bank.export", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("var/bank"), help="the bank's data folder")
    parser.add_argument("--code", default="bank-sandbox", help="this bank's code at Gerbang")
    parser.add_argument("--secrets", type=Path, default=None, help="default: var/keys/banks/<code>.secrets")
    parser.add_argument("--account", default="0001234567890", help="Gerbang's account here")
    parser.add_argument("--day", type=dt.date.fromisoformat, required=True, help="YYYY-MM-DD, a day that is over")
    parser.add_argument("--format", choices=["mt940", "camt053"], default="mt940")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder to write the file and its .sig into")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    secrets_path = args.secrets or Path("var/keys/banks") / f"{args.code}.secrets"
    try:
        secrets = load_secrets(secrets_path)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"export: cannot read the secrets: {exc}", file=sys.stderr)
        return 2
    if not secrets:
        print(f"export: no secret in {secrets_path}", file=sys.stderr)
        return 2
    if not (args.data / "bank.sqlite3").is_file():
        print(f"export: no bank database in {args.data}", file=sys.stderr)
        return 2
    store = Store(args.data)
    if args.day >= dt.datetime.now(WIB).date():
        print("export: the day is not over yet", file=sys.stderr)
        return 2
    if args.day < store.opened():
        print("export: the account was not open that day", file=sys.stderr)
        return 2
    statement = statements.build(store, args.day, account=args.account, bank_code=args.code)
    if args.format == "mt940":
        body, name = statements.mt940(statement).encode(), f"{args.code}-{args.day}.mt940"
    else:
        body, name = statements.camt053(statement), f"{args.code}-{args.day}.camt053.xml"
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / name
    target.write_bytes(body)
    target.with_name(name + ".sig").write_text(sign(secrets[:1], body) + "\n", encoding="ascii")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
