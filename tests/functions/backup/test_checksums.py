"""checksums.compare names every table that differs, is missing or is extra."""

from __future__ import annotations

from functions.backup.checksums import compare


def test_compare_names_each_difference() -> None:
    ref = {"public.a": {"rows": 2, "hash": "10"}, "public.b": {"rows": 1, "hash": "5"}}
    assert compare(ref, dict(ref)) == []
    got = {"public.a": {"rows": 2, "hash": "11"}, "public.c": {"rows": 0, "hash": "0"}}
    assert compare(ref, got) == [
        "public.b: missing from the restore",
        "public.c: not in the backup's reference",
        "public.a: 2 rows / hash 11 restored, 2 rows / hash 10 at backup time",
    ]
