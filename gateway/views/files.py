"""Staff download a case's files (the citizen's, the agency's answer files, the signed letter)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from flask import abort, send_file
from sqlmodel import col, select

from gateway.models import Attachment, Case
from gateway.services import services, session

SOURCES_SHOWN = ("citizen", "agency", "signed")


def of_case(case: Case) -> Sequence[Attachment]:
    """The files of ``case`` staff may open, oldest first."""
    return session().exec(select(Attachment).where(Attachment.case_id == case.id,
                                                   col(Attachment.source).in_(SOURCES_SHOWN))
                          .order_by(col(Attachment.id))).all()


def send(case: Case, attachment_id: int) -> Any:
    """One file of ``case`` as a download (404 for another case's file)."""
    row = session().get(Attachment, attachment_id)
    if row is None or row.case_id != case.id or row.source not in SOURCES_SHOWN:
        abort(404)
    response = send_file(io.BytesIO(services().storage.load(row.storage_key)), mimetype=row.content_type,
                         as_attachment=True, download_name=row.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def url_maker(endpoint: str, **values: Any) -> Callable[[Attachment], str]:
    """``file_url(attachment)`` for a template: the download route ``endpoint`` with ``values``."""
    from flask import url_for

    return lambda row: url_for(endpoint, attachment_id=row.id, **values)
