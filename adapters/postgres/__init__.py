"""PostgreSQL adapters (aiopg): pool, migrations, unit of work and repositories, read model,
idempotency store and the outbox relay. See ``migrations/`` for the schema and its constraints."""
