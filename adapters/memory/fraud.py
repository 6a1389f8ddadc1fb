"""Memory record of the fraud rules' attempts (``FraudSignals``), in the embedded store."""
from __future__ import annotations

from adapters.memory.store import MemoryStore
from application.ports.backoffice import FraudAttempt
from domain.fraud import BLOCK
from domain.payments import PaymentStatus


def _value(attempt: FraudAttempt, kind: str) -> str | None:
    if kind == "email":
        return attempt.email.lower() if attempt.email else None
    return {"user": attempt.user_id, "ip": attempt.client_ip, "guest": attempt.guest_id}[kind]


class MemoryFraudSignals:
    """Rows are written at once (no unit of work: the initiation's holds the store's lock)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    @property
    def _rows(self) -> dict[str, FraudAttempt]:
        return self.store.tables["fraud_attempts"]

    async def record(self, attempt: FraudAttempt) -> None:
        self._rows[attempt.id] = attempt

    async def counts(self, keys, since):
        failed = {p.reference for p in self.store.tables["payments"].values()
                  if p is not None and p.status is PaymentStatus.FAILED}
        out = {}
        for kind, key in keys.items():
            key = key.lower() if kind == "email" else key
            rows = [a for a in self._rows.values() if a.at >= since[kind] and _value(a, kind) == key]
            out[kind] = (len(rows), sum(1 for a in rows if a.reference in failed and a.outcome != BLOCK))
        return out

    async def reap(self, older_than) -> int:
        old = [k for k, a in self._rows.items() if a.at < older_than]
        for key in old:
            del self._rows[key]
        return len(old)
