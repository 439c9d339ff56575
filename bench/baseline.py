"""The baseline: a bare Flask app doing the least an intake endpoint can do."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/reports")
def reports():  # type: ignore[no-untyped-def]
    """Parse the body and answer 202, nothing else."""
    body = request.get_json(silent=True) or request.form.to_dict()
    return jsonify(received=len(body)), 202


@app.post("/sms")
def sms():  # type: ignore[no-untyped-def]
    """Parse a form-encoded webhook and answer empty TwiML."""
    request.form.to_dict()
    return '<?xml version="1.0" encoding="UTF-8"?><Response />', 200, {"Content-Type": "text/xml"}
