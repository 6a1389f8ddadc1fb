-- The cache-invalidation journal (issue 14 item 7): what each commit made stale, written with the
-- commit, forgotten once applied, replayed by the worker when no process confirmed it.
CREATE TABLE cache_invalidations (
    id         text COLLATE "C" PRIMARY KEY,
    keys       text[] NOT NULL,
    counters   text[] NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX cache_invalidations_created_idx ON cache_invalidations (created_at, id);
