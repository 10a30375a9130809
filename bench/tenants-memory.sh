#!/usr/bin/env bash
# Resident memory of the release server holding three tenants of 10,000 entries each, after a
# load run over all three: the demo tenant plus two created with the CLI, each with its own
# synthetic articles, events and artisans (imported through the CLI while the server runs),
# then wrk at 16 connections on each tenant's `latest`, `range` and filtered-page queries in
# turn. Prints the server's RSS at each step.
#
#   bench/tenants-memory.sh                                       # SQLite in a temp dir
#   ZELLIGE_DATABASE_URL=postgres://… bench/tenants-memory.sh     # PostgreSQL (an empty database)
#   CACHE=off bench/tenants-memory.sh                              # without the response cache
#
# Needs wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
duration=${DURATION:-5s}; conns=${CONNECTIONS:-16}
bench_setup --example gen_data
if [ "${CACHE:-on}" = off ]; then export ZELLIGE_LIMITS__GRAPHQL_CACHE_BYTES=0; fi
rss() { echo $(( $(ps -o rss= -p "$server") / 1024 )); }

"$bin/examples/gen_data" 5000 2500 2500 > "$data/load.jsonl"
serve_demo
echo "server RSS at start: $(rss) MiB"
tenants="marrakech-safi fes-meknes souss-massa"
"$bin/zellige" tenant create fes-meknes --name "غرفة الصناعة التقليدية لجهة فاس مكناس" >/dev/null
"$bin/zellige" tenant create souss-massa --name "غرفة الصناعة التقليدية لجهة سوس ماسة" >/dev/null
for t in $tenants; do
  "$bin/zellige" import --tenant "$t" "$data/load.jsonl" >&2
done
wait_indexed
echo "server RSS after three imports of 10,000 entries: $(rss) MiB"

q_latest='{ articles(orderBy: [{field: publishedAt, direction: DESC}], first: 20) { nodes { id slug title excerpt publishedAt city } } }'
q_range='{ events(where: {startsAt: {gte: \"2015-03-01T00:00:00Z\", lt: \"2015-04-01T00:00:00Z\"}}, orderBy: [{field: startsAt}], first: 20) { nodes { id title startsAt city } } }'
q_page='{ artisans(where: {craft: {eq: \"زليج\"}, city: {eq: \"مراكش\"}}, orderBy: [{field: name}], first: 20) { nodes { id name craft city } } }'
echo "| tenant | query | req/s | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- | --- |"
for t in $tenants; do
  tok=$("$bin/zellige" token create --tenant "$t" --kind public --name bench | tail -1)
  for name in latest range page; do
    var="q_$name"
    post_lua "$data/post.lua" "$tok" "{\"query\": \"${!var}\"}"
    out=$(wrk -t2 -c"$conns" -d"$duration" --latency -s "$data/post.lua" "http://127.0.0.1:$port/graphql")
    wrk_row "$t | $name" "$out"
  done
done
echo
echo "server RSS after the load run: $(rss) MiB"
if [ -n "${SMAPS:-}" ]; then
  grep -E '^(Rss|Anonymous|Private_Clean|Private_Dirty|Shared_Clean)' "/proc/$server/smaps_rollup"
  awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6} /^Rss:/{ if ($2>4000) print $2" kB", name}' "/proc/$server/smaps" | sort -rn | head -12
fi
