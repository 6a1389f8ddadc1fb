"""``json`` values (the aggregates our SQL builds) are parsed by orjson on the pool's connections
(adapters/postgres/db.py); ``jsonb`` documents by the standard library, exactly as stored."""
from __future__ import annotations

import json

from adapters.postgres import db


async def test_jsonb_documents_read_back_exactly_as_stored(pg_pool):
    big = 123456789012345678901234567890  # beyond 64 bits: orjson would read a float
    doc = {"a": 1, "b": [1.5, "é", None, True], "c": {"d": big}}
    rows = await db.fetch(pg_pool, "SELECT %s::jsonb AS b, json_build_object('x', 2, 'y', 'z') AS agg",
                          [json.dumps(doc)])
    assert rows == [{"b": doc, "agg": {"x": 2, "y": "z"}}]
    assert rows[0]["b"]["c"]["d"] == big and isinstance(rows[0]["b"]["c"]["d"], int)


async def test_the_pools_connections_keep_the_process_wide_json_parser(pg_pool):
    """aiopg registers the standard library's parser on each connection unless told not to, which
    would shadow db.py's orjson one (a per-connection typecaster wins over a global one)."""
    async with pg_pool.acquire() as conn:
        assert 114 not in conn.raw.string_types  # json
    rows = await db.fetch(pg_pool, "SELECT json_agg(json_build_object('k', g)) AS j FROM generate_series(1, 2) g", [])
    assert rows == [{"j": [{"k": 1}, {"k": 2}]}]


async def test_text_and_column_names_decode_as_utf8(pg_pool):
    """db.py's UTF-8 codec (the C functions called directly) reads what the standard one reads."""
    rows = await db.fetch(pg_pool, 'SELECT %s::text AS "名前", %s::text AS plain', ["é, ü and 日本", "x"])
    assert rows == [{"名前": "é, ü and 日本", "plain": "x"}]
    async with pg_pool.acquire() as conn:
        assert conn.raw.encoding == "UTF8"


async def test_jsonb_parameters_written_by_json_text_store_what_json_dumps_stored(pg_pool):
    """db.json_text (orjson, json.dumps for what orjson refuses) gives Postgres the same document."""
    big = 123456789012345678901234567890
    docs = [{"a": 1, "b": [1.5, "é", None, True, "日本 \u2028"], "c": {"d": -2**63}}, {"n": big, "k": [big]},
            {1: "int key", "nested": {2: [3]}}, ["x\\u0000y", "quote \" and \n"], 0.1 + 0.2]
    for doc in docs:
        rows = await db.fetch(pg_pool, "SELECT %s::jsonb = %s::jsonb AS same", [db.json_text(doc), json.dumps(doc)])
        assert rows[0]["same"] is True, doc
    assert db.json_text({"n": big}) == json.dumps({"n": big})  # beyond 64 bits: the standard library's text
    assert db.json_text(["\udc80"]) == json.dumps(["\udc80"])  # not valid Unicode: the same
    assert db.json_text({"a": [1, "é"]}) == '{"a":[1,"é"]}'  # orjson's own, otherwise
