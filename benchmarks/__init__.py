"""`make bench`: gymgate's gate path measured against the floors of its own stack, in one run.

Floors (what the stack costs on its own):
    F1 raw Ed25519 verifications          (cryptography)
    F2 PyJWT EdDSA decode of one of our tokens
    F3 the used-pass + audit write transaction, on SQLite and Postgres (driver level)
    F4 a hello-world Litestar handler on the same uvicorn set-up, loaded by wrk
Ours:
    M1 the in-process verify pipeline; ratio to 1 / (1/F2 + 1/F3)
    M2 POST /verify over HTTP (allows, then all-denies); ratio to F4, p50, p99
    M3 M2 with 1,000,000 audit rows and 100,000 used-pass rows already stored
    M4 POST /generate_qr (PNG) per second; QR version and token length
    M5 resident memory of the server after M2/M3
    M6 two workers vs one

Timings never go into pass/fail tests: this package prints a table and one JSON line, and
writes the same JSON to benchmarks/last.json (git-ignored).
"""
