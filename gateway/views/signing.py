"""Signed answers for citizens and anyone: /verify, the SMS short link, the lookup page's download."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from sqlmodel import select

from channels import web
from gateway import cases, codes, lookup, messages, ratelimit
from gateway.exceptions import CodeCheckDigitError, CodeError
from gateway.models import Attachment, Case
from gateway.services import services, session
from gateway.signing import config as signing_config
from gateway.signing import service as signing
from gateway.signing.verify import Verdict, verify_pdf

bp = Blueprint("signing", __name__)
NO_DOCUMENT = "PAKN này chưa có văn bản trả lời được ký số."


def _limited() -> None:
    limit = services().settings.lookup_limit
    if not ratelimit.hit(services().redis, scope="verify", who=request.remote_addr or "unknown", limit=limit):
        abort(429, description=messages.text("errors", "rate_limited", minutes=max(1, limit[1] // 60)),
              retry_after=limit[1])


def _pdf(case: Case, row: Attachment) -> Response:
    response = Response(services().storage.load(row.storage_key), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{row.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _verdict(data: bytes) -> Verdict:
    return verify_pdf(data, trust_roots=signing_config.load(services().settings).trust_roots)


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> Any:
    """Anyone: upload a PDF, or give a PAKN code, and see who signed it, when, intact, trusted."""
    code_text = request.args.get("code", "").strip()
    if request.method == "GET" and not code_text:
        return render_template("verify.html", verdict=None, code="", error=None, sha256=None, stored=None)
    _limited()
    if request.method == "POST":
        files = web.read_files(request.files.getlist("file"), services().settings.max_file_bytes)
        if len(files) != 1 or not files[0].data:
            return render_template("verify.html", verdict=None, code="", sha256=None, stored=None,
                                   error="Vui lòng chọn một tệp PDF (tối đa "
                                         f"{services().settings.max_file_bytes // (1024 * 1024)} MB)."), 400
        data = files[0].data
        digest = hashlib.sha256(data).hexdigest()
        stored = session().exec(select(Attachment).where(Attachment.sha256 == digest,
                                                         Attachment.source == signing.SOURCE)).first()
        return render_template("verify.html", verdict=_verdict(data), code="", error=None, sha256=digest,
                               stored=_code_of(stored.case_id) if stored else None)
    try:
        case = cases.by_code(session(), code=str(codes.parse(code_text)))
    except CodeError as exc:
        key = "code_check" if isinstance(exc, CodeCheckDigitError) else "code_format"
        return render_template("verify.html", verdict=None, code=code_text, sha256=None, stored=None,
                               error=messages.text("errors", key)), 400
    row = signing.signed_answer(session(), case_id=case.id or 0) if case else None
    if case is None or row is None:
        return render_template("verify.html", verdict=None, code=code_text, sha256=None, stored=None,
                               error=NO_DOCUMENT), 404
    data = services().storage.load(row.storage_key)
    return render_template("verify.html", verdict=_verdict(data), code=code_text, error=None,
                           sha256=hashlib.sha256(data).hexdigest(), stored=case.code)


def _code_of(case_id: int) -> str | None:
    case = session().get(Case, case_id)
    return case.code if case else None


@bp.get("/vb/<token>")
def short_link(token: str) -> Any:
    """The signed answer by the short link sent in the SMS answer (only the citizen has it)."""
    case_id = signing.read_document_token(services().settings, token)
    case = session().get(Case, case_id) if case_id else None
    row = signing.signed_answer(session(), case_id=case.id or 0) if case else None
    if case is None or row is None:
        abort(404, description=NO_DOCUMENT)
    return _pdf(case, row)


@bp.post("/lookup/answer.pdf")
def lookup_document() -> Any:
    """The signed answer for the sender: the same code + name check as the lookup page (posted, not in the URL)."""
    _limited()
    result = lookup.find(session(), code_text=request.form.get("code", ""), name=request.form.get("name", ""))
    if result.case is None:
        abort(404, description=messages.text("errors", result.outcome.value))
    row = signing.signed_answer(session(), case_id=result.case.id or 0)
    if row is None:
        abort(404, description=NO_DOCUMENT)
    return _pdf(result.case, row)
