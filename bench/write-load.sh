#!/usr/bin/env bash
# Write load: `createArticle` mutations from 8 connections (each a different Arabic title, so
# each gets its own slug), against the release server on SQLite or PostgreSQL. Prints a
# Markdown table and the number of entries written.
#
#   bench/write-load.sh                                          # SQLite in a temp dir
#   ZELLIGE_DATABASE_URL=postgres://… bench/write-load.sh        # PostgreSQL (an empty database)
#   ANALYZE=1 ZELLIGE_DATABASE_URL=postgres://… bench/write-load.sh  # … with statistics (below)
#
# Needs wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
duration=${DURATION:-10s}; conns=${CONNECTIONS:-8}
bench_setup
serve_demo
editor=$(grep -m1 'editor token' "$data/serve.log" | awk '{print $3}')
cat > "$data/create.lua" <<LUA
-- Each wrk thread has its own Lua state (and the same random seed): the thread number set in
-- setup() keeps the titles of the two threads apart, so no create needs a suffixed slug.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
local prefix
init = function(args)
  prefix = tostring(os.time()) .. "-" .. tostring(tid)
end
request = function()
  n = n + 1
  local body = '{"query": "mutation(\$d: ArticleCreateInput!) { createArticle(data: \$d) { id } }", '
    .. '"variables": {"d": {"title": "خبر رقم ' .. prefix .. '-' .. n .. '", "city": "مراكش"}}}'
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer $editor",
  }, body)
end
LUA
echo "| query | req/s | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
wrk -t2 -c"$conns" -d2s -s "$data/create.lua" "http://127.0.0.1:$port/graphql" >/dev/null
# ANALYZE=1 (PostgreSQL): statistics after the warm-up, as autovacuum keeps them on a database
# that has been running; without it the planner still sees the empty tables it started with.
if [ "${ANALYZE:-0}" = 1 ] && [ -n "${ZELLIGE_DATABASE_URL:-}" ]; then
  psql -q "$ZELLIGE_DATABASE_URL" -c ANALYZE
fi
out=$(wrk -t2 -c"$conns" -d"$duration" --latency -s "$data/create.lua" "http://127.0.0.1:$port/graphql")
wrk_row "createArticle, $conns connections" "$out"
count=$(curl -s "http://127.0.0.1:$port/graphql" -H "authorization: Bearer $editor" \
  -H 'content-type: application/json' \
  -d '{"query": "{ articles(status: DRAFT) { totalCount } }"}')
echo
echo "drafts after the run: $count"
