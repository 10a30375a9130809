#!/usr/bin/env bash
# Search benchmark (embedded index): the release server on loopback with the response cache
# off, the demo tenant plus synthetic published entries (default 100,000: 40% articles, 20%
# events, 40% artisans, Arabic and French text).
#
#   bench/search-load.sh [ENTRIES]
#
# Measures:
# - incremental indexing: the import's outbox events applied by the running indexer
#   (batches of 500), from the end of the import until the backlog in /readyz is 0;
# - a full rebuild: `zellige reindex` handed to the running server, start to finish;
# - query latency over GraphQL `search` with wrk at 1 and 16 connections. The requests rotate
#   over 48 different searches (common and rare words, prefixes, filters, facets, French), so
#   no answer is repeated back to back; the response cache is off. The searches are sent as a
#   search page sends them, two query texts with the words and filters in variables: once with
#   the parsed-document cache (the default), once without it, every text parsed again.
#
# Needs wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
total=${1:-100000}
duration=${DURATION:-10s}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -p zellige --bin zellige --example gen_data >&2
bin=${CARGO_TARGET_DIR:-target}/release
data=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$data"' EXIT
export ZELLIGE_DATA_DIR=$data RUST_LOG=warn ZELLIGE_LIMITS__GRAPHQL_CACHE_BYTES=0
port=$((20000 + RANDOM % 20000))
articles=$((total * 2 / 5)); events=$((total / 5)); artisans=$((total - articles - events))
"$bin/examples/gen_data" "$articles" "$events" "$artisans" > "$data/load.jsonl"
"$bin/zellige" serve --demo --bind 127.0.0.1:$port > "$data/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
token=$(grep -m1 'public token' "$data/serve.log" | awk '{print $3}')
backlog() { curl -s "http://127.0.0.1:$port/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["search"]["backlog"].get("marrakech-safi", 0))'; }
now() { date +%s.%N; }
"$bin/zellige" import --tenant marrakech-safi "$data/load.jsonl" >/dev/null 2>&1
start=$(now)
until [ "$(backlog)" = 0 ]; do sleep 0.05; done
incremental=$(echo "$(now) - $start" | bc)
start=$(now)
"$bin/zellige" reindex --tenant marrakech-safi >/dev/null 2>&1
rebuild=$(echo "$(now) - $start" | bc)
rss=$(ps -o rss= -p $server)
# The index merges its segments in the background after a rebuild: the queries are measured
# once the server is idle, not against those merges.
wait_idle 60
docs=$((2 * (total + 92)))
echo "entries: $((total + 92)) published (about $docs documents: one per locale, ar and fr)"
echo
echo "| indexing | seconds | entries/s |"
echo "| --- | --- | --- |"
echo "| incremental (outbox, batches of 500) | $incremental | $(echo "$total / $incremental" | bc) |"
echo "| full rebuild (\`zellige reindex\`) | $rebuild | $(echo "($total + 92) / $rebuild" | bc) |"
echo

queries=(
  "معرض" "التعاونيات" "تعاونية" "الحرفي" "زليج" "نحاس مراكش" "خزف آسفي" "الصويرة"
  "دورة تكوينية" "الحرفيين" "بمدينة مراكش" "معرض الخزف" "نسيج شيشاوة" "فضة" "دباغة"
  "جلد اليوسفية" "رقم 1234" "رقم 98765" "الحرفي رقم 004321" "معرض زليج رقم 777" "تعاو" "معر"
  "الخز" "التقليدية" "احتفاءا" "بشراكة" "Exposition" "artisan 012345" "exposition marrakech"
  "Safi" "Marrakech" "essaouira"
)
filters=(
  "" ', "types": ["article"]' ', "types": ["artisan"], "where": {"city": {"eq": "مراكش"}}'
  ', "where": {"craft": {"eq": "زليج"}}' ', "types": ["article", "event"]'
  ', "types": ["event"], "where": {"startsAt": {"gte": "2015-03-01T00:00:00Z", "lt": "2015-06-01T00:00:00Z"}}'
)
# As a search page sends them: two query texts (with and without facets), the words and
# filters in variables.
args='query Search($q: String!, $types: [String!], $where: SearchWhere, $locale: String) { search(query: $q, types: $types, where: $where, locale: $locale, first: 10) { totalHits hits { id type title score highlights { field snippet } }'
with_facets="$args facets { field values { value count } } } }"
without="$args } }"
{
  echo 'local bodies = {}'
  i=0
  for q in "${queries[@]}"; do
    f=${filters[$((i % ${#filters[@]}))]}
    loc=""; case "$q" in [A-Za-z]*) loc=', "locale": "fr"';; esac
    echo "bodies[#bodies + 1] = [==[{\"query\": \"$with_facets\", \"variables\": {\"q\": \"$q\"$f$loc}}]==]"
    i=$((i + 1))
  done
  # The same words again with the next filter, for 48 in all.
  for q in "${queries[@]:0:16}"; do
    f=${filters[$(((i + 1) % ${#filters[@]}))]}
    echo "bodies[#bodies + 1] = [==[{\"query\": \"$without\", \"variables\": {\"q\": \"$q\"$f}}]==]"
    i=$((i + 1))
  done
  cat <<LUA
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[n])
end
LUA
} > "$data/search.lua"
# Every query answers without errors.
grep -o '\[==\[.*\]==\]' "$data/search.lua" | sed 's/^\[==\[//; s/\]==\]$//' | while read -r body; do
  out=$(curl -s "http://127.0.0.1:$port/graphql" -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$body")
  case "$out" in *'"errors"'*) echo "query failed: $body → $out" >&2; exit 1;; esac
done
load() {
  echo "| clients | req/s | p50 | p99 | non-2xx |"
  echo "| --- | --- | --- | --- | --- |"
  for conns in 1 16; do
    threads=$([ "$conns" = 1 ] && echo 1 || echo 2)
    wrk -t"$threads" -c"$conns" -d2s -s "$data/search.lua" "http://127.0.0.1:$port/graphql" >/dev/null
    out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$data/search.lua" "http://127.0.0.1:$port/graphql")
    echo "| $conns | $(echo "$out" | awk '/Requests\/sec/ {print $2}') | $(echo "$out" | awk '$1=="50%" {print $2}') | $(echo "$out" | awk '$1=="99%" {print $2}') | $(echo "$out" | awk '/Non-2xx/ {print $5}') |"
  done
}
echo "parsed-document cache on (the default; the response cache is off throughout):"
echo
load
echo
echo "server RSS: after indexing $((rss / 1024)) MiB, after load $(( $(ps -o rss= -p $server) / 1024 )) MiB"
# The same searches with every query text parsed again for each request.
kill $server; wait $server 2>/dev/null || true
ZELLIGE_LIMITS__GRAPHQL_DOCUMENT_CACHE_BYTES=0 "$bin/zellige" serve --demo --bind 127.0.0.1:$port >> "$data/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
echo
echo "parsed-document cache off (\`ZELLIGE_LIMITS__GRAPHQL_DOCUMENT_CACHE_BYTES=0\`):"
echo
load
