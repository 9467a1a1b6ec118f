"""``snapshot()``: a page's queries see one committed state, even while another transaction commits."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from gerbang.accounts.models import User
from gerbang.core.snapshot import snapshot


def _isolation() -> str:
    if connection.vendor != "postgresql":
        return "sqlite immediate" if connection.in_atomic_block else "sqlite autocommit"
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        return str(cursor.fetchone()[0])


def _rename_elsewhere(pk: int, name: str, done: threading.Event) -> None:
    try:
        with transaction.atomic():
            User.objects.filter(pk=pk).update(full_name=name)
        done.set()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_commit_landing_between_two_reads_is_not_half_seen() -> None:
    user = User.objects.create_user(email="snapshot@example.invalid", password=None, full_name="before")
    done = threading.Event()
    other = threading.Thread(target=_rename_elsewhere, args=(user.pk, "after", done))
    with snapshot():
        assert _isolation() in ("repeatable read", "sqlite immediate")
        assert User.objects.get(pk=user.pk).full_name == "before"
        other.start()
        # PostgreSQL: the other transaction commits now. SQLite: it waits for this one (immediate transactions).
        landed = done.wait(timeout=30 if connection.vendor == "postgresql" else 0.5)
        assert landed == (connection.vendor == "postgresql")
        assert User.objects.get(pk=user.pk).full_name == "before"
    other.join(timeout=30)
    assert done.is_set()
    assert User.objects.get(pk=user.pk).full_name == "after"


@pytest.mark.django_db
def test_inside_an_outer_transaction_it_only_nests() -> None:
    with transaction.atomic():
        User.objects.count()  # the outer transaction has begun: a SET TRANSACTION here would fail
        with snapshot():
            assert _isolation() in ("read committed", "sqlite immediate")
            assert connection.in_atomic_block
