"""Checks webhook deliveries with the official Standard Webhooks library.

Reads JSON lines {"secret": ..., "headers": {...}, "body": "..."} on stdin and prints, for
each, "ok" or "fail: <reason>".
"""
import json
import sys

from standardwebhooks.webhooks import Webhook

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    d = json.loads(line)
    try:
        Webhook(d["secret"]).verify(d["body"], d["headers"])
        print("ok", flush=True)
    except Exception as e:  # noqa: BLE001 - the reason is the output
        print(f"fail: {type(e).__name__}: {e}", flush=True)
