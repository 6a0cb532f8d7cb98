"""Runs one of the seed's Python snippets pointed at a local gateway, then reports what it got.

    python run_seed_python.py SEED.py BASE_URL

The snippet's source is used unchanged except for its base URL (https://regpilot.dev becomes
BASE_URL); it reads REGPILOT_API_KEY from the environment itself, as written. The chat
snippet only assigns `response`, so after it runs this prints one line
`SEED-RESPONSE {"status": …, "content_type": …, "head": first 400 characters of the body}`.
"""

import json
import sys

SEED_BASE_URL = "https://regpilot.dev"

path, base_url = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as f:
    source = f.read()
assert SEED_BASE_URL in source, f"{path} does not mention {SEED_BASE_URL}"
namespace = {"__name__": "__main__", "__file__": path}
exec(compile(source.replace(SEED_BASE_URL, base_url), path, "exec"), namespace)

response = namespace.get("response")
if response is not None:
    print("SEED-RESPONSE " + json.dumps({
        "status": response.status_code,
        "content_type": response.headers.get("content-type"),
        "head": response.text[:400],
    }))
