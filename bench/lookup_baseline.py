"""The lookup benchmark's baseline: a bare Flask app answering the same requests with the least work."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/lookup", methods=["GET", "POST"])
@app.get("/api/v1/cases/<code>")
def lookup(code: str = "") -> object:
    """Read the arguments (query or form) and answer 200, nothing else."""
    values = request.values
    return jsonify(code=code or values.get("code", ""), name=values.get("name", ""))
