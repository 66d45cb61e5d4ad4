"""Per-table checksums: row count and the sum of a 64-bit hash of every row's text form.

The sum is order-independent and streams (no table is held in memory, unlike an md5 over sorted rows), so it
runs on tables of any size; two copies of a table agree when they hold the same multiset of rows (a collision
needs two different sets whose hash sums match modulo 2^64·n, which a restore bug does not produce by chance).
A row's text form is what ``t::text`` prints, identical on the source and a restore of the same major version.

Taken at backup time inside the snapshot pg_dump runs on (``backup --table-checksums``), they are the reference
a drill compares its restore with: the same data, not merely similar.
"""

from __future__ import annotations

from typing import Any

TABLES_SQL = (
    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
)


def table_checksums(conn: Any) -> dict[str, dict[str, Any]]:
    """``{schema.table: {rows, hash}}`` of every user table, read through ``conn`` (psycopg) in its snapshot."""
    result: dict[str, dict[str, Any]] = {}
    with conn.cursor() as cur:
        cur.execute(TABLES_SQL)
        tables = [row[0] for row in cur.fetchall()]
        for table in tables:
            cur.execute(f"SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM {table} t")
            rows, digest = cur.fetchone()
            result[table] = {"rows": int(rows), "hash": str(digest)}
    return result


def compare(reference: dict[str, dict[str, Any]], restored: dict[str, dict[str, Any]]) -> list[str]:
    """Problems of ``restored`` against ``reference``: tables missing, extra, or with other rows."""
    problems = [f"{t}: missing from the restore" for t in sorted(set(reference) - set(restored))]
    problems += [f"{t}: not in the backup's reference" for t in sorted(set(restored) - set(reference))]
    for table in sorted(set(reference) & set(restored)):
        want, got = reference[table], restored[table]
        if want != got:
            problems.append(
                f"{table}: {got['rows']} rows / hash {got['hash']} restored, {want['rows']} rows / hash {want['hash']} "
                "at backup time"
            )
    return problems
