"""Open311 GeoReport v2: the gateway as an Open311 server for civic apps.

Services are the fields of ``config/fields.toml``; a service request is a PAKN case and
its ``service_request_id`` is the PAKN code. Requests are filed through the same intake
as the web form (channel ``open311``); the code is assigned by the worker, so a POST
answers with a ``token`` (the receipt) and ``tokens/<token>`` gives the code once it is
there. What is returned about a case is public only: code, status, service, agency and
dates — the text and the answer only once the case is published, personal data never.

FixMyStreet's extensions are understood: its ``attribute[title]``,
``attribute[description]``, ``attribute[fixmystreet_id]``/``attribute[external_id]`` and
``attribute[closest_address]`` on POST, and ``servicerequestupdates`` (mySociety's status
updates) for following cases.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from gateway.constants import VN_TZ, CaseStatus, PublicationStatus
from gateway.fields import all_fields
from gateway.models import Agency, Case, Event, Publication

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00+07:00"
CLOSED = (CaseStatus.answered, CaseStatus.published, CaseStatus.closed, CaseStatus.out_of_scope)
# mySociety's update statuses (FixMyStreet's servicerequestupdates)
UPDATE_STATUS: dict[CaseStatus, str] = {
    CaseStatus.received: "open",
    CaseStatus.registered: "open",
    CaseStatus.needs_info: "action_scheduled",
    CaseStatus.triage: "investigating",
    CaseStatus.forwarded: "in_progress",
    CaseStatus.reopened: "in_progress",
    CaseStatus.answered: "fixed",
    CaseStatus.published: "fixed",
    CaseStatus.out_of_scope: "not_councils_responsibility",
    CaseStatus.closed: "closed",
}


def iso(value: datetime | None) -> str | None:
    """W3C datetime in Vietnam time (as the spec's examples, with offset)."""
    return value.astimezone(VN_TZ).isoformat(timespec="seconds") if value else None


def services() -> list[dict[str, Any]]:
    """GET services: one per field."""
    return [{"service_code": f.code, "service_name": f.name, "description": f"Phản ánh, kiến nghị về {f.name}",
             "metadata": False, "type": "realtime", "keywords": "", "group": "PAKN"} for f in all_fields()]


def service_name(code: str | None) -> str | None:
    """The field's name for a service code."""
    return next((f.name for f in all_fields() if f.code == code), None)


def status_of(case: Case) -> str:
    """Open311's two statuses."""
    return "closed" if case.status in CLOSED else "open"


def request_view(session: Session, case: Case) -> dict[str, Any]:
    """One service request: public facts; the text and answer only for a published case."""
    from gateway.constants import STATUS_LABELS_VI

    agency = session.get(Agency, case.agency_id) if case.agency_id else None
    service = case.field or case.field_hint
    view: dict[str, Any] = {
        "service_request_id": case.code,
        "status": status_of(case),
        "status_notes": STATUS_LABELS_VI[CaseStatus(case.status)],
        "service_name": service_name(service),
        "service_code": service,
        "agency_responsible": agency.name if agency else None,
        "requested_datetime": iso(case.created_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(case.due_at),
    }
    public = session.exec(select(Publication).where(Publication.case_id == case.id,
                                                    Publication.status == PublicationStatus.published)).first()
    if public is not None:  # only the coordinator's redacted version, and only while it is published
        view["description"] = public.title
        view["status_notes"] = public.answer or view["status_notes"]
    return view


def update_view(event: Event, case: Case) -> dict[str, Any]:
    """One status change as FixMyStreet's ``request_update``."""
    from gateway.constants import STATUS_LABELS_VI

    status = event.to_status or case.status
    return {
        "update_id": str(event.id),
        "service_request_id": case.code,
        "status": UPDATE_STATUS[CaseStatus(status)],
        "updated_datetime": iso(event.at),
        "description": STATUS_LABELS_VI[CaseStatus(status)],
        "media_url": "",
        "external_status_code": CaseStatus(status).value,
    }


# --- XML ------------------------------------------------------------------------------------

def _element(parent: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, bool):
        child.text = "true" if value else "false"
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _element(child, key, inner)
    elif isinstance(value, list):
        singular = {"endpoints": "endpoint", "formats": "format"}.get(name, "item")
        for inner in value:
            _element(child, singular, inner)
    elif value is not None:
        child.text = str(value)


def to_xml(root: str, item: str | None, data: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """The spec's XML: ``<root><item>…</item>…</root>`` for lists, ``<root>…</root>`` for objects."""
    top = ET.Element(root)
    if isinstance(data, Mapping):
        for key, value in data.items():
            _element(top, key, value)
    else:
        for entry in data:
            _element(top, item or "item", entry)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")
