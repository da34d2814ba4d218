"""The baseline of the HTTP benchmarks: a bare Flask app with one plaintext route, served by
gunicorn exactly like Parvis (``gunicorn bench.plaintext:app``; see bench/render.py).

The same route as ``bench.tenant_home.bare_flask_app`` (the in-process baseline), without
importing Parvis into the baseline's workers."""

from flask import Flask

app = Flask("bench_plaintext")


@app.get("/")
def plaintext() -> str:
    return "ok"


@app.get("/healthz")
def healthz() -> str:  # what bench.http_load waits for before measuring
    return "ok"
