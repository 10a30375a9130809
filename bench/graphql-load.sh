#!/usr/bin/env bash
# GraphQL load benchmark: the release server on loopback, the demo tenant plus synthetic data,
# wrk at 16 connections for each of the four reference queries. Prints a Markdown table.
#
#   bench/graphql-load.sh [ARTICLES] [EVENTS] [ARTISANS]        # SQLite in a temp dir
#   ZELLIGE_DATABASE_URL=postgres://… bench/graphql-load.sh …  # PostgreSQL (an empty database)
#   CACHE=off bench/graphql-load.sh …                            # without the caches
#
# Needs wrk (apt-get install -y wrk), and psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
articles=${1:-10000}; events=${2:-5000}; artisans=${3:-10000}
duration=${DURATION:-10s}; conns=${CONNECTIONS:-16}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -p zellige --bin zellige --example gen_data >&2
bin=${CARGO_TARGET_DIR:-target}/release
data=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$data"' EXIT
export ZELLIGE_DATA_DIR=$data RUST_LOG=warn
# Off means every cache of the query path: the responses and the parsed query documents (each
# run repeats one query text).
if [ "${CACHE:-on}" = off ]; then
  export ZELLIGE_LIMITS__GRAPHQL_CACHE_BYTES=0 ZELLIGE_LIMITS__GRAPHQL_DOCUMENT_CACHE_BYTES=0
fi
port=$((20000 + RANDOM % 20000))
"$bin/examples/gen_data" "$articles" "$events" "$artisans" > "$data/load.jsonl"
"$bin/zellige" serve --demo --bind 127.0.0.1:$port > "$data/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
token=$(grep -m1 'public token' "$data/serve.log" | awk '{print $3}')
editor=$(grep -m1 'editor token' "$data/serve.log" | awk '{print $3}')
start=$(date +%s.%N)
"$bin/zellige" import --tenant marrakech-safi "$data/load.jsonl" >&2
echo "import of $((articles + events + artisans)) entries: $(echo "$(date +%s.%N) - $start" | bc) s" >&2
# The search indexer applies the import's outbox events in the background: wait until it has
# caught up, so that its work is not counted against the load run.
for _ in $(seq 1 900); do
  curl -s "http://127.0.0.1:$port/readyz" | grep -Eq '"backlog":\{("[^"]+":0,?)*\}' && break
  sleep 0.2
done
# So do the other consumers (the plugins' hooks): the load starts once /metrics shows no
# backlog for any of them.
waited=$(date +%s.%N)
for _ in $(seq 1 3000); do
  curl -s "http://127.0.0.1:$port/metrics" | awk '/^outbox_backlog_events/ && $NF != 0 {busy = 1} END {exit busy}' && break
  sleep 0.2
done
echo "outbox consumers caught up $(echo "$(date +%s.%N) - $waited" | bc) s after the search indexer" >&2
# On PostgreSQL, autovacuum processes the imported rows within a minute or two of the import,
# and the reads' p99 rises by hundreds of milliseconds while it runs: the vacuum a bulk load
# calls for is run here, before the load, so that it is not measured against the reads.
case "${ZELLIGE_DATABASE_URL:-}" in
  postgres*)
    start=$(date +%s.%N)
    psql -q "$ZELLIGE_DATABASE_URL" -c 'VACUUM (ANALYZE)'
    echo "VACUUM (ANALYZE) after the import: $(echo "$(date +%s.%N) - $start" | bc) s" >&2
    ;;
esac
# And the search index merges its new segments in the background: the load starts once the
# server is idle.
wait_idle 120
rss_idle=$(ps -o rss= -p $server)

q_latest='{ articles(orderBy: [{field: publishedAt, direction: DESC}], first: 20) { nodes { id slug title excerpt publishedAt city } } }'
q_slug_tmpl='{ article(slug: \"SLUG\") { id title body publishedAt tags relatedEvents { title startsAt } } }'
q_range='{ events(where: {startsAt: {gte: \"2015-03-01T00:00:00Z\", lt: \"2015-04-01T00:00:00Z\"}}, orderBy: [{field: startsAt}], first: 20) { nodes { id title startsAt city } } }'
q_page1='{ artisans(where: {craft: {eq: \"زليج\"}, city: {eq: \"مراكش\"}}, orderBy: [{field: name}], first: 20, after: AFTER) { nodes { id name craft city } pageInfo { endCursor } } }'

post() { curl -s "http://127.0.0.1:$port/graphql" -H "authorization: Bearer $token" -H 'content-type: application/json' -d "{\"query\": \"$1\"}"; }
slug=$(post "$q_latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["articles"]["nodes"][0]["slug"])')
q_slug=${q_slug_tmpl/SLUG/$slug}
c1=$(post "${q_page1/AFTER/null}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["artisans"]["pageInfo"]["endCursor"])')
c2=$(post "${q_page1/AFTER/\\\"$c1\\\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["artisans"]["pageInfo"]["endCursor"])')
q_page3=${q_page1/AFTER/\\\"$c2\\\"}

echo "response cache: ${CACHE:-on}"
echo
echo "| query | req/s | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
for name in latest slug range page3; do
  var="q_$name"; body="{\"query\": \"${!var}\"}"
  check=$(post "${!var}")
  case "$check" in *'"errors"'*) echo "query $name failed: $check" >&2; exit 1;; esac
  cat > "$data/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [==[$body]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
  # A short warm-up (connections, caches, the database's buffers), then the measured run.
  wrk -t2 -c"$conns" -d2s -s "$data/post.lua" "http://127.0.0.1:$port/graphql" >/dev/null
  out=$(wrk -t2 -c"$conns" -d"$duration" --latency -s "$data/post.lua" "http://127.0.0.1:$port/graphql")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "| $name | $rps | $p50 | $p99 | ${errs:-0} |"
done

# The same `latest` read while an editor changes one of the listed articles ten times a
# second: every write retires the cached answers, so this measures reads that keep missing.
target=$(post "$q_latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["articles"]["nodes"][0]["id"])')
(
  i=0
  while true; do
    i=$((i + 1))
    curl -s -o /dev/null "http://127.0.0.1:$port/graphql" -H "authorization: Bearer $editor" \
      -H 'content-type: application/json' \
      -d "{\"query\": \"mutation { updateArticle(id: \\\"$target\\\", data: {city: \\\"مراكش $i\\\"}) { id } }\"}"
    sleep 0.1
  done
) &
writer=$!
body="{\"query\": \"$q_latest\"}"
cat > "$data/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [==[$body]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
out=$(wrk -t2 -c"$conns" -d"$duration" --latency -s "$data/post.lua" "http://127.0.0.1:$port/graphql")
kill $writer 2>/dev/null || true
echo "| latest, 10 writes/s | $(echo "$out" | awk '/Requests\/sec/ {print $2}') | $(echo "$out" | awk '$1=="50%" {print $2}') | $(echo "$out" | awk '$1=="99%" {print $2}') | $(echo "$out" | awk '/Non-2xx/ {print $5}') |"

echo
echo "server RSS: idle after import $((rss_idle / 1024)) MiB, after load $(( $(ps -o rss= -p $server) / 1024 )) MiB"
