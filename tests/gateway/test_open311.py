"""Open311 GeoReport v2 conformance (the spec's examples, JSON and XML) and FixMyStreet's requests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway import cases
from gateway.constants import CaseStatus, Channel, PublicationStatus
from gateway.fields import all_fields
from gateway.models import Case, Publication
from tests.test_routing import LAND, directory_loaded  # noqa: F401 (fixture)

KEY = "test-key-1"
SPEC_REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                       "agency_responsible", "requested_datetime", "updated_datetime", "expected_datetime"}


def fixmystreet_post(**overrides: str) -> dict[str, str]:
    """A report as FixMyStreet's Open311 client sends it (its extended attributes included)."""
    data = {
        "api_key": KEY, "jurisdiction_id": "pakn.example.gov.vn", "service_code": "dat-dai",
        "lat": "21.028511", "long": "105.804817",
        "address_string": "Số 12 ngõ 34 Lý Thường Kiệt, phường Cửa Nam, Hà Nội",
        "email": "nhung.nguyen@example.com", "first_name": "Hồng Nhung", "last_name": "Nguyễn Thị",
        "phone": "0912 345 678", "description": f"{LAND['title']}\n\n{LAND['content']}",
        "media_url": "https://fixmystreet.example.org/photo/1234.full.jpeg",
        "attribute[title]": LAND["title"], "attribute[description]": LAND["content"],
        "attribute[external_id]": "1234", "attribute[fixmystreet_id]": "1234",
        "attribute[closest_address]": "Lý Thường Kiệt, Hoàn Kiếm, Hà Nội",
        "attribute[report_url]": "https://fixmystreet.example.org/report/1234",
    }
    data.update(overrides)
    return data


def _xml(response: Any) -> ET.Element:
    assert response.content_type.startswith("text/xml"), response.content_type
    assert response.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.data)


def test_discovery_and_services_in_both_formats(client: Any) -> None:
    discovery = client.get("/open311/v2/discovery.json")
    assert discovery.status_code == 200
    endpoint = discovery.json["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "https://pakn.example.gov.vn/open311/v2"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"} and endpoint["type"] == "production"
    root = _xml(client.get("/open311/v2/discovery.xml"))
    assert root.tag == "discovery" and root.find("changeset") is not None
    assert [f.text for f in root.iterfind("endpoints/endpoint/formats/format")] == ["application/json", "text/xml"]

    services = client.get("/open311/v2/services.json").json
    assert [s["service_code"] for s in services] == [f.code for f in all_fields()]
    land = services[0]
    assert land["service_name"] == "Đất đai, tài nguyên" and land["metadata"] is False and land["type"] == "realtime"
    root = _xml(client.get("/open311/v2/services.xml"))
    assert root.tag == "services" and len(root.findall("service")) == len(all_fields())
    assert root.find("service/metadata").text == "false"  # type: ignore[union-attr]
    assert client.get("/open311/v2/services/dat-dai.json").json == {"service_code": "dat-dai", "attributes": []}
    missing = client.get("/open311/v2/services/khong-co.xml")
    assert missing.status_code == 404 and _xml(missing).find("error/code").text == "404"  # type: ignore[union-attr]
    assert client.get("/open311/v2/services.yaml").status_code == 404


@pytest.mark.usefixtures("directory_loaded")
def test_fixmystreet_files_a_case_that_gets_a_code_and_can_be_followed(
        client: Any, run_worker: Callable[[], None], db: Session) -> None:
    response = client.post("/open311/v2/requests.json", data=fixmystreet_post())
    assert response.status_code == 201, response.text
    (entry,) = response.json
    token = entry["token"]
    assert client.get(f"/open311/v2/tokens/{token}.json").json == [{"token": token, "service_request_id": None}]
    again = client.post("/open311/v2/requests.json", data=fixmystreet_post())  # FixMyStreet retries
    assert again.status_code == 200 and again.json[0]["token"] == token
    run_worker()

    case = db.exec(select(Case).where(Case.receipt == token)).one()
    assert case.channel == Channel.open311 and case.code and case.field_hint == "dat-dai"
    assert case.full_name == "Nguyễn Thị Hồng Nhung" and case.title == LAND["title"]
    assert "Vị trí: 21.028511, 105.804817" in case.content and "1234.full.jpeg" in case.content
    assert case.status == CaseStatus.forwarded  # routed like any PAKN
    (resolved,) = client.get(f"/open311/v2/tokens/{token}.json").json
    assert resolved["service_request_id"] == case.code
    tokens_xml = _xml(client.get(f"/open311/v2/tokens/{token}.xml"))
    assert tokens_xml.findtext("request/service_request_id") == case.code

    # Not published: only code, status, service, agency and dates; no text, nothing personal.
    (view,) = client.get(f"/open311/v2/requests/{case.code}.json").json
    assert set(view) == SPEC_REQUEST_FIELDS
    assert view["status"] == "open" and view["service_code"] == "dat-dai"
    assert view["agency_responsible"] == "Bộ Nông nghiệp và Môi trường"
    body = client.get(f"/open311/v2/requests/{case.code}.json").text
    for private in ("Nguyễn", "0912", "+84", "nhung.nguyen", "Lý Thường Kiệt", "sổ đỏ", LAND["title"]):
        assert private not in body
    root = _xml(client.get(f"/open311/v2/requests/{case.code.replace('-', '')}.xml"))  # type: ignore[union-attr]
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == case.code
    assert root.find("request/description") is None

    # Published: the coordinator's redacted public version (never the case's own text) is public.
    case.answer = "Kính gửi bà Nguyễn Thị Hồng Nhung, 0912 345 678: đã cấp giấy chứng nhận ngày 20/11/2026."
    cases.transition(db, case=case, to=CaseStatus.answered, actor="test")
    cases.transition(db, case=case, to=CaseStatus.published, actor="test")
    db.add(Publication(case_id=case.id or 0, status=PublicationStatus.published, title="Chậm cấp giấy chứng nhận",
                       content="[nội dung]", answer="Kính gửi bà [họ tên]: đã cấp giấy chứng nhận ngày 20/11/2026.",
                       proposed_by="coordinator1"))
    db.commit()
    (view,) = client.get(f"/open311/v2/requests/{case.code}.json").json
    assert view["status"] == "closed" and view["description"] == "Chậm cấp giấy chứng nhận"
    assert view["status_notes"] == "Kính gửi bà [họ tên]: đã cấp giấy chứng nhận ngày 20/11/2026."
    assert "0912" not in str(view) and "Nhung" not in str(view)
    withdrawn = db.exec(select(Publication)).one()
    withdrawn.status = PublicationStatus.withdrawn  # taken down (KCK, or the coordinator): nothing shows
    db.add(withdrawn)
    db.commit()
    (view,) = client.get(f"/open311/v2/requests/{case.code}.json").json
    assert "description" not in view and "Kính gửi" not in str(view)
    withdrawn.status = PublicationStatus.published
    db.add(withdrawn)
    db.commit()

    listing = client.get("/open311/v2/requests.json", query_string={"status": "closed", "service_code": "dat-dai"})
    assert [r["service_request_id"] for r in listing.json] == [case.code]
    assert client.get("/open311/v2/requests.json", query_string={"status": "open"}).json == []
    earlier = client.get("/open311/v2/requests.json",
                         query_string={"start_date": "2025-01-01T00:00:00+07:00", "end_date": "2025-01-31T00:00:00Z"})
    assert earlier.status_code == 200 and earlier.json == []
    backwards = client.get("/open311/v2/requests.json", query_string={"start_date": "2099-01-01T00:00:00Z"})
    assert backwards.status_code == 400
    by_id = client.get("/open311/v2/requests.xml", query_string={"service_request_id": case.code})
    assert [r.findtext("service_request_id") for r in _xml(by_id).findall("request")] == [case.code]
    updates = _xml(client.get("/open311/v2/servicerequestupdates.xml"))
    statuses = [u.findtext("status") for u in updates.findall("request_update")]
    assert statuses == ["open", "in_progress", "fixed", "fixed"]  # registered, forwarded, answered, published
    assert {u.findtext("service_request_id") for u in updates.findall("request_update")} == {case.code}


def test_errors_follow_the_spec(client: Any) -> None:
    wrong = client.post("/open311/v2/requests.json", data=fixmystreet_post(api_key="wrong"))
    assert wrong.status_code == 401 and wrong.json[0]["code"] == 401 and wrong.json[0]["description"]
    wrong_xml = client.post("/open311/v2/requests.xml", data=fixmystreet_post(api_key="wrong"))
    assert wrong_xml.status_code == 401 and _xml(wrong_xml).tag == "errors"
    bad_service = client.post("/open311/v2/requests.json", data=fixmystreet_post(service_code="potholes"))
    assert bad_service.status_code == 400 and "service_code" in bad_service.json[0]["description"]
    anonymous = client.post("/open311/v2/requests.xml", data=fixmystreet_post(first_name="", last_name="", phone=""))
    assert anonymous.status_code == 400
    assert "first_name/last_name" in (_xml(anonymous).findtext("error/description") or "")
    header_key = client.post("/open311/v2/requests.xml", data=fixmystreet_post(api_key=""),
                             headers={"X-Api-Key": KEY})
    assert header_key.status_code == 201 and _xml(header_key).findtext("request/token")
    dates = client.get("/open311/v2/requests.json", query_string={"start_date": "yesterday"})
    assert dates.status_code == 400 and "start_date" in dates.json[0]["description"]
    assert client.get("/open311/v2/requests/26-000000-0.json").status_code == 404
    assert client.get("/open311/v2/tokens/nope.xml").status_code == 404
    unknown = client.get("/open311/v2/nothing-here.xml")
    assert unknown.status_code == 404 and _xml(unknown).tag == "errors"


@pytest.mark.usefixtures("directory_loaded")
def test_an_existing_open311_client_reads_what_fixmystreet_filed(live_url: str, run_worker: Callable[[], None],
                                                                 db: Session) -> None:
    """FixMyStreet's POST over HTTP, then the `georeport` client (PyPI) reads it back in JSON and XML."""
    import requests
    from georeport import GeoReport

    filed = requests.post(f"{live_url}/open311/v2/requests.xml", data=fixmystreet_post(), timeout=10)
    assert filed.status_code == 201
    token = ET.fromstring(filed.content).findtext("request/token")
    run_worker()
    code = db.exec(select(Case.code).where(Case.receipt == token)).one()
    for fmt in ("json", "xml"):
        client = GeoReport(f"{live_url}/open311/v2", jurisdiction="pakn.example.gov.vn", api_key=KEY,
                           output_format=fmt)
        services = client.get_service_list()
        assert [s["service_code"] for s in services] == [f.code for f in all_fields()]
        assert client.get_service_definition("dat-dai")["service_code"] == "dat-dai"
        one = client.get_service_request(code or "")
        assert one["service_request_id"] == code and one["status"] == "open"
        assert one["agency_responsible"] == "Bộ Nông nghiệp và Môi trường"
        listed = client.get_service_requests(service_code="dat-dai", status="open")
        listed = [listed] if isinstance(listed, dict) else listed  # xmltodict: one element is not a list
        assert [r["service_request_id"] for r in listed] == [code]
