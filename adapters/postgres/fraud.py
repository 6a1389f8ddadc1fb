"""Postgres record of the fraud rules' attempts (``FraudSignals``): one row per attempt, counted
through the per-identity indexes (``fraud_attempts_*_idx``), declines by joining each attempt's
payment reference with its intent. Written on a connection of its own (autocommit): an attempt
counts whatever happens to the initiation's transaction. That connection comes from a pool of its
own (``pg_side_pool`` in the wiring): the initiation holds one of the main pool meanwhile."""
from __future__ import annotations

import json

import aiopg

from adapters.postgres import db
from application.ports.backoffice import FraudAttempt

#: identity kind -> the column (expression) it is matched on, as the indexes have it
_COLUMN = {"user": "a.user_id", "email": "lower(a.email)", "ip": "a.client_ip", "guest": "a.guest_id"}


class PostgresFraudSignals:
    def __init__(self, pool: aiopg.Pool) -> None:
        self.pool = pool

    async def record(self, attempt: FraudAttempt) -> None:
        await db.fetch(self.pool, "INSERT INTO fraud_attempts (id, at, reference, order_id, user_id, email, client_ip, "
                                  "guest_id, country, amount, currency, outcome, reasons) VALUES "
                                  "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                       [attempt.id, attempt.at, attempt.reference, attempt.order_id, attempt.user_id, attempt.email,
                        attempt.client_ip, attempt.guest_id, attempt.country, attempt.amount, attempt.currency,
                        attempt.outcome, json.dumps(list(attempt.reasons))])

    def count_sql(self, kinds) -> str:
        """One statement: for each identity kind, its attempts since its window began and how many
        of them were declined (the explain test runs it too)."""
        parts = []
        for kind in kinds:
            parts.append(f"SELECT '{kind}' AS kind, count(*) AS made, count(p.id) AS declined "
                         f"FROM fraud_attempts a LEFT JOIN payment_intents p ON p.reference = a.reference "
                         f"AND p.status = 'failed' AND a.outcome <> 'block' WHERE {_COLUMN[kind]} = %s AND a.at >= %s")
        return " UNION ALL ".join(parts)

    async def counts(self, keys, since):
        kinds = sorted(keys)
        params = []
        for kind in kinds:
            params += [keys[kind].lower() if kind == "email" else keys[kind], since[kind]]
        rows = await db.fetch(self.pool, self.count_sql(kinds), params)
        return {r["kind"]: (r["made"], r["declined"]) for r in rows}

    async def reap(self, older_than) -> int:
        rows = await db.fetch(self.pool, "WITH gone AS (DELETE FROM fraud_attempts WHERE at < %s RETURNING 1) "
                                         "SELECT count(*) AS n FROM gone", [older_than])
        return rows[0]["n"]


#: This module's tables (truncated by the tests with the others).
TABLES = ("fraud_attempts",)
