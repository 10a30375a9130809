#!/usr/bin/env bash
# Widget load benchmark: the release server on loopback with the demo (bundled plugins
# enabled), wrk at 16 connections on the `widget` query of the calendar, cycling through 60
# months so that consecutive requests differ (each render reads that month's events). Then the
# same for the `articles` list for comparison. Prints a Markdown table.
#
#   bench/widget-load.sh                  # caches on (response cache and widget cache)
#   CACHE=off bench/widget-load.sh        # both caches off: every request instantiates the plugin
#
# Needs wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}; conns=${CONNECTIONS:-16}
source bench/lib.sh
bench_setup
if [ "${CACHE:-on}" = off ]; then
  export ZELLIGE_LIMITS__GRAPHQL_CACHE_BYTES=0 ZELLIGE_PLUGINS__WIDGET_CACHE_ENTRIES=0
fi
# The load generator shares the machine: allow it more calls than the default rate limit.
export ZELLIGE_PLUGINS__CALLS_PER_MINUTE=100000000
serve_demo
wait_indexed

check=$(curl -s "http://127.0.0.1:$port/graphql" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"query": "{ widget(plugin: \"calendar\", name: \"month\", props: {year: 2017, month: 12}) { html cacheSeconds } }"}')
case "$check" in *'"errors"'*|'') echo "widget query failed: $check" >&2; exit 1;; esac

cat > "$data/widget.lua" <<LUA
local i = 0
request = function()
  i = i + 1
  local year = 2015 + (i % 5)
  local month = 1 + (math.floor(i / 5) % 12)
  local body = string.format('{"query": "{ widget(plugin: \\\\"calendar\\\\", name: \\\\"month\\\\", props: {year: %d, month: %d}) { html cacheSeconds } }"}', year, month)
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token"}, body)
end
LUA
post_lua "$data/articles.lua" "$token" '{"query": "{ articles(orderBy: [{field: publishedAt, direction: DESC}], first: 20) { nodes { id slug title excerpt publishedAt city } } }"}'

echo "caches: ${CACHE:-on}"
echo
echo "| query | req/s | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
for name in widget articles; do
  wrk -t2 -c"$conns" -d2s -s "$data/$name.lua" "http://127.0.0.1:$port/graphql" >/dev/null
  wrk_row "$name" "$(wrk -t2 -c"$conns" -d"$duration" --latency -s "$data/$name.lua" "http://127.0.0.1:$port/graphql")"
done
echo
echo "server RSS after the runs: $(( $(ps -o rss= -p $server) / 1024 )) MiB"
