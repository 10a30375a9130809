#!/usr/bin/env bash
# Introspection flood: 16 anonymous clients (X-Tenant only, no token) send the largest
# introspection query the limits allow (two full standard introspection queries under aliases)
# while one public client reads the latest articles. Reports the reader's latency, the flood's
# rate and the server's peak resident memory. Response cache off: every request runs.
#
#   bench/introspection-load.sh
#
# Needs wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-15s}
source bench/lib.sh
bench_setup
export ZELLIGE_LIMITS__GRAPHQL_CACHE_BYTES=0
serve_demo
wait_indexed

# The standard query (graphql-js getIntrospectionQuery, every option on), twice under aliases.
python3 - "$data/flood.json" <<'PY'
import json, re, sys
q = open("core/src/graphql/introspection.graphql").read()
head, rest = q.split("__schema", 1)
body, frags = rest.split("fragment", 1)
body = body.rstrip().rstrip("}")
q2 = "query Flood { a: __schema" + body + " b: __schema" + body + "}\nfragment" + frags
open(sys.argv[1], "w").write(json.dumps({"query": q2}))
PY
check=$(curl -s "http://127.0.0.1:$port/graphql" -H 'x-tenant: marrakech-safi' -H 'content-type: application/json' --data-binary @"$data/flood.json")
case "$check" in *'"errors"'*|'') echo "the flood query is refused: ${check:0:300}" >&2; exit 1;; esac
echo "flood answer: ${#check} bytes"

cat > "$data/flood.lua" <<LUA
wrk.method = "POST"
local f = io.open("$data/flood.json", "r")
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Tenant"] = "marrakech-safi"
LUA
post_lua "$data/reader.lua" "$token" '{"query": "{ articles(orderBy: [{field: publishedAt, direction: DESC}], first: 20) { nodes { id slug title excerpt publishedAt city } } }"}'

peak=0
( while kill -0 $server 2>/dev/null; do
    r=$(ps -o rss= -p $server 2>/dev/null || echo 0); echo $r; sleep 0.2
  done ) > "$data/rss.log" &
sampler=$!
wrk -t1 -c16 -d"$duration" -s "$data/flood.lua" "http://127.0.0.1:$port/graphql" > "$data/flood.out" &
flood=$!
sleep 1
wrk -t1 -c1 -d"$duration" --latency -s "$data/reader.lua" "http://127.0.0.1:$port/graphql" > "$data/reader.out"
wait $flood
kill $sampler 2>/dev/null || true
peak=$(sort -n "$data/rss.log" | tail -1); echo "rss series (MiB): $(awk '{printf "%d ", $1/1024}' "$data/rss.log")" >&2
echo
echo "| client | req/s | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
for name in flood reader; do
  wrk_row "$name" "$(cat "$data/$name.out")"
done
echo
echo "server peak RSS during the run: $(( peak / 1024 )) MiB"
