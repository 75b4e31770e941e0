"""The fastest way to insert rows into several tables: on PostgreSQL COPY for many rows
(https://www.postgresql.org/docs/15/populate.html) and, for a few, plain INSERTs sent together
in pipeline mode (https://www.psycopg.org/psycopg3/docs/advanced/pipeline.html); on SQLite one
INSERT ... SELECT over json_each of the rows sent as one JSON array
(https://sqlite.org/json1.html#jeach). SQLAlchemy's per-row parameter processing would cost
more than the inserts themselves.

Why not COPY for a few rows on PostgreSQL: each COPY waits for the server twice (its start,
its end), so the one AuditEvent of a read (one resource row and index rows in four tables) took
2.6-2.7 ms by COPY and 1.1-1.3 ms as pipelined INSERTs (one wait), BEGIN and COMMIT included.
But a pipelined INSERT costs ~14 µs of Python per row against COPY's ~0.6 µs (6,000 rows: 88 ms
against 4 ms, same script): past FEW_ROWS, COPY.

Why not executemany on SQLite: Python's sqlite3 module lets go of the GIL around each row's
step and takes it back after, so while another thread runs Python code (a second request, a
background job) every row waits for that thread's switch interval: 50,000 rows took 16 times
longer beside one busy thread (0.48 s alone, 7.5 s). The single statement lets go of the GIL once,
for all the rows (0.78 s alone, 0.92 s beside the busy thread): the database work of one request
then runs on one core while the Python work of another runs on the other.
"""

from collections.abc import Sequence

import orjson
from sqlalchemy import Connection, Table

FEW_ROWS = 100  # up to this many rows in all, PostgreSQL gets pipelined INSERTs, not COPY


def insert_tables(conn: Connection, batches: Sequence[tuple[Table, list[tuple]]]) -> None:
    """Insert plain tuples, in each table's column order, into the tables in turn. SQLite takes
    str, int, float, bool and None values; others (a datetime, bytes) raise TypeError rather
    than being stored as JSON text."""
    batches = [(table, rows) for table, rows in batches if rows]
    if not batches:
        return
    if conn.dialect.name != "postgresql":
        for table, rows in batches:
            values = ", ".join(f"value ->> {i}" for i in range(len(table.columns)))
            data = orjson.dumps(rows, option=orjson.OPT_PASSTHROUGH_DATETIME)
            conn.exec_driver_sql(
                f"INSERT INTO {table.name} ({_columns(table)}) SELECT {values} FROM json_each(?)",
                (data,),
            )
        return
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor:
        if sum(len(rows) for _, rows in batches) <= FEW_ROWS:
            with driver.pipeline():
                for table, rows in batches:
                    marks = ", ".join(["%s"] * len(table.columns))
                    cursor.executemany(
                        f"INSERT INTO {table.name} ({_columns(table)}) VALUES ({marks})", rows
                    )
            return
        for table, rows in batches:
            with cursor.copy(f"COPY {table.name} ({_columns(table)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def insert_tuples(conn: Connection, table: Table, rows: list[tuple]) -> None:
    """`insert_tables` for one table."""
    insert_tables(conn, [(table, rows)])


def _columns(table: Table) -> str:
    return ", ".join(c.name for c in table.columns)
