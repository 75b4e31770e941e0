"""The fastest way to insert many rows that the DB-API offers: COPY on PostgreSQL
(https://www.postgresql.org/docs/15/populate.html), executemany elsewhere. SQLAlchemy's per-row
parameter processing would cost more than the inserts themselves."""

from sqlalchemy import Connection, Table


def insert_tuples(conn: Connection, table: Table, rows: list[tuple]) -> None:
    """Insert plain tuples, in the table's column order."""
    if not rows:
        return
    columns = ", ".join(c.name for c in table.columns)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(table.columns))
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", rows)
