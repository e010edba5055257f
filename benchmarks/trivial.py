"""The smallest Flask app, served by the same gunicorn setup as coderef: the denominator of
the HTTP throughput ratio (what the server itself costs per request)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"ok": True})
