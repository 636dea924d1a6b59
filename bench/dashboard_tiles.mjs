// The 12 tiles of the dashboard benchmark: aggregates over the 1M-row bench_events table,
// each taking the board's `kind` filter.
const where = 'where kind = {{kind}}';
export const TILES = [
  { name: 'events', sql: `select count(*) as n from bench_events ${where}` },
  { name: 'amount', sql: `select sum(amount) as total from bench_events ${where}` },
  { name: 'users', sql: `select count(distinct user_id) as users from bench_events ${where}` },
  { name: 'by day', sql: `select date_trunc('day', ts)::date as day, count(*) as n from bench_events ${where} group by 1 order by 1` },
  { name: 'by hour', sql: `select extract(hour from ts)::int as hour, count(*) as n from bench_events ${where} group by 1 order by 1` },
  { name: 'by weekday', sql: `select extract(dow from ts)::int as weekday, sum(amount) as total from bench_events ${where} group by 1 order by 1` },
  { name: 'top users', sql: `select user_id, sum(amount) as total from bench_events ${where} group by 1 order by 2 desc limit 20` },
  { name: 'amount bands', sql: `select width_bucket(amount, 0, 1000, 10) as band, count(*) as n from bench_events ${where} group by 1 order by 1` },
  { name: 'latest', sql: `select id, ts, user_id, amount from bench_events ${where} order by id desc limit 50` },
  { name: 'by month', sql: `select date_trunc('month', ts)::date as month, avg(amount) as avg from bench_events ${where} group by 1 order by 1` },
  { name: 'max', sql: `select max(amount) as max, min(amount) as min from bench_events ${where}` },
  { name: 'per user', sql: `select count(*)::numeric / count(distinct user_id) as per_user from bench_events ${where}` },
];
