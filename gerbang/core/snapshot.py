"""Read a page's records from one committed state of the database.

A status page reads the application, then its bill, its steps and its visit in separate queries. Under
PostgreSQL's default isolation (READ COMMITTED) each query sees what was committed when *it* started, so a
payment committed between two of them shows the bill "Paid" beside an application still "Submitted". Inside
``snapshot()`` every query of the block sees the state committed when the first one ran (REPEATABLE READ).
On SQLite the block is a plain transaction, which is consistent already: settings open SQLite transactions
IMMEDIATE, so writers wait for the few milliseconds the page takes to render.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def snapshot() -> Iterator[None]:
    """Run the block's queries against one snapshot. Meant for reads: a write inside may fail to serialize."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # Must be the transaction's first statement, hence only when this block opened the transaction.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
