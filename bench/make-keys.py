#!/usr/bin/env python3
"""Fills a SQLite store with N keys for the benchmarks: real secrets (the format and CRC-32/base62
check of crates/keys) whose SHA-256 digests go into the store as copies of the CLI-made key's row,
and the secrets themselves into a file (an nginx map: `"secret" 1;` per line).

    bench/make-keys.py STORE.db CLI_MADE_SECRET N SECRETS_FILE
"""
import hashlib, secrets, sqlite3, sys, zlib
db, key, n, mapfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def b62(v, width=6):
    out = []
    for _ in range(width):
        out.append(A[v % 62]); v //= 62
    return "".join(reversed(out))
con = sqlite3.connect(db)
tpl = con.execute("SELECT id FROM api_keys WHERE digest = ?", (hashlib.sha256(key.encode()).hexdigest(),)).fetchone()[0]
rows, keys = [], [key]
for i in range(n - 1):
    s = "sk_prod_" + "".join(secrets.choice(A) for _ in range(32))
    s += b62(zlib.crc32(s.encode()))
    keys.append(s)
    rows.append((tpl[:-8] + "%08d" % i, hashlib.sha256(s.encode()).hexdigest(), s[:12] + "\u2026" + s[-4:], tpl))
con.executemany(
    "INSERT INTO api_keys (id, project_id, name, key_type, environment, scopes, status, digest, display_prefix,"
    " created_at, created_by, expires_at, last_used_at, deleted_at)"
    " SELECT ?, project_id, name, key_type, environment, scopes, status, ?, ?, created_at, created_by, expires_at,"
    " last_used_at, deleted_at FROM api_keys WHERE id = ?", rows)
con.commit()
with open(mapfile, "w") as f:
    for s in keys:
        f.write('"%s" 1;\n' % s)
print(con.execute("SELECT count(*) FROM api_keys").fetchone()[0], file=sys.stderr)
