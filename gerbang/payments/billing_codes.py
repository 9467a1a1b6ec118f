"""Billing codes: 15 digits, 14 random ones and a Damm check digit (python-stdnum's ``stdnum.damm``).

Tellers and applicants type them; the check digit catches every single-digit
error and every swap of adjacent digits before the bank even asks Gerbang.
"""

from __future__ import annotations

import secrets

from stdnum import damm

LENGTH = 15


def new_billing_code() -> str:
    # The first digit is never 0, so the code keeps its 15 digits in systems that store numbers.
    body = str(secrets.randbelow(9) + 1) + f"{secrets.randbelow(10**13):013d}"
    return body + damm.calc_check_digit(body)


def compact(value: str) -> str:
    return "".join(ch for ch in (value or "") if not ch.isspace() and ch not in "-.")


def is_valid(value: str) -> bool:
    code = compact(value)
    return len(code) == LENGTH and code.isdigit() and code[0] != "0" and damm.is_valid(code)


def display(code: str) -> str:
    return f"{code[:5]} {code[5:10]} {code[10:]}"
