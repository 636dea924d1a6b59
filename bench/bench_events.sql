-- The 1M-row table the benchmarks share (created once) in the local PostgreSQL database `test`.
CREATE TABLE IF NOT EXISTS bench_events (
  id bigint PRIMARY KEY, ts timestamptz NOT NULL, user_id int NOT NULL, kind text NOT NULL,
  amount numeric(12,2) NOT NULL, payload text NOT NULL);
INSERT INTO bench_events
SELECT g, timestamptz '2024-01-01' + g * interval '31 seconds', ((g::bigint * 7919) % 50000)::int,
       (ARRAY['view','click','purchase','refund'])[1 + g % 4], round((g % 100000) / 100.0, 2),
       md5(g::text) || md5((g * 3)::text)
FROM generate_series(1, 1000000) g
WHERE NOT EXISTS (SELECT 1 FROM bench_events LIMIT 1);
ANALYZE bench_events;
