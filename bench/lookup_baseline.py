"""The lookup benchmark's baseline: a bare Flask app answering the same GETs with the least work."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/lookup")
@app.get("/api/v1/cases/<code>")
def lookup(code: str = "") -> object:
    """Read the arguments and answer 200, nothing else."""
    return jsonify(code=code or request.args.get("code", ""), name=request.args.get("name", ""))
