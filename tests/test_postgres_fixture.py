"""The PostgreSQL fixtures (``tests/conftest.py``): a real server, one empty database per test."""

from __future__ import annotations

import psycopg


def test_fresh_database_round_trips_a_row(fresh_postgres_url: str) -> None:
    with psycopg.connect(fresh_postgres_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO items VALUES (%s, %s)", (1, "first"))
        conn.commit()
    with psycopg.connect(fresh_postgres_url) as conn:
        assert conn.execute("SELECT id, name FROM items").fetchall() == [(1, "first")]


def test_each_test_gets_its_own_database(fresh_postgres_url: str, postgres_url: str) -> None:
    name = fresh_postgres_url.rsplit("/", 1)[1]
    assert name.startswith("test_")
    with psycopg.connect(postgres_url) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchall()
    assert found == [(1,)]
    with psycopg.connect(fresh_postgres_url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (name,)
