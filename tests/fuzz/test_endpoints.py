"""Property-based fuzzing of every endpoint: whatever arrives, the answer is never a 5xx.

Each test draws requests for a group of endpoints (public pages, the JSON API, the signed
SMS webhooks, the staff pages of every role, the call-log import) against a populated
gateway on SQLite and on PostgreSQL. Known ids, codes and tokens are mixed with random
ones so that the deep paths (a real case, a valid answer link) are fuzzed too. Examples
are bounded so the module stays well under a minute; ``FUZZ_EXAMPLES`` multiplies them
for a longer hunt (``FUZZ_EXAMPLES=20 pytest tests/fuzz``).
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from config.settings import Settings
from normalizer.record import FIELDS
from tests.fuzz.conftest import World
from tests.fuzz.strategies import SAMPLES, any_text, form, ints, json_body, nasty, segment, uploads
from tests.twilio_fake import AUTH_TOKEN

SCALE = int(os.environ.get("FUZZ_EXAMPLES", "1"))


def bounded(examples: int) -> Any:
    """Hypothesis settings for a fuzz test: ``examples`` (× FUZZ_EXAMPLES), no deadline, no example database."""
    return settings(max_examples=examples * SCALE, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


Request = tuple[str, str, dict[str, Any]]  # method, path, keyword arguments of the test client


def _send(client: Any, request: Request) -> Any:
    method, path, kwargs = request
    response = client.open(path, method=method, **kwargs)
    assert response.status_code < 500, (method, path, kwargs, response.status_code, response.text[:500])
    return response


def _ids(world: World) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from([str(i) for i in world.case_ids]), ints)


def _code(world: World) -> st.SearchStrategy[str]:
    return st.one_of(st.just(world.web_case.code or ""), nasty)


def _name(world: World) -> st.SearchStrategy[str]:
    return st.one_of(st.just(world.web_case.full_name), nasty)


def public_requests(world: World) -> st.SearchStrategy[Request]:
    """The citizens' pages: submit, receipt, captcha, lookup and its forms, the answer link, login."""
    lookup_form = st.fixed_dictionaries({"code": _code(world), "name": _name(world)},
                                        optional={"rating": st.one_of(ints, nasty), "reason": nasty, "text": nasty})
    token = st.one_of(st.just(world.answer_token), segment())
    return st.one_of(
        form(FIELDS).map(lambda data: ("POST", "/submit", {"data": data})),
        st.tuples(form(FIELDS), uploads()).map(lambda t: ("POST", "/submit", {
            "data": {**t[0], "attachments": t[1]}, "content_type": "multipart/form-data"})),
        segment().map(lambda t: ("GET", f"/receipt/{t}", {})),
        segment().map(lambda t: ("GET", f"/receipt/{t}/status.json", {})),
        segment().map(lambda t: ("GET", f"/captcha/{t}.png", {})),
        st.fixed_dictionaries({}, optional={"code": _code(world), "name": _name(world)}).map(
            lambda q: ("GET", "/lookup", {"query_string": q})),
        st.tuples(st.sampled_from(["rate", "disagree", "supplement"]), lookup_form).map(
            lambda t: ("POST", f"/lookup/{t[0]}", {"data": t[1]})),
        token.map(lambda t: ("GET", f"/agency/answer/{t}", {})),
        st.tuples(token, form(("answer", "reason", "action"), action=st.sampled_from(["answer", "return", "x"]))).map(
            lambda t: ("POST", f"/agency/answer/{t[0]}", {"data": t[1]})),
        nasty.map(lambda n: ("GET", "/staff/login", {"query_string": {"next": n}})),
        form(("username", "password", "next")).map(lambda data: ("POST", "/staff/login", {"data": data})),
        segment().map(lambda p: ("GET", f"/{p}", {})),
        # publication, verification, signed answers, metrics
        st.fixed_dictionaries({}, optional={k: nasty for k in ("q", "linh_vuc", "co_quan", "quy", "trang")}).map(
            lambda q: ("GET", "/cong-khai/", {"query_string": q})),
        st.fixed_dictionaries({}, optional={"quy": nasty}).map(
            lambda q: ("GET", "/cong-khai/thong-ke", {"query_string": q})),
        segment(_code(world)).map(lambda c: ("GET", f"/cong-khai/{c}", {})),
        st.just(("GET", "/cong-khai/feed.atom", {})),
        st.fixed_dictionaries({}, optional={"code": _code(world)}).map(lambda q: ("GET", "/verify",
                                                                                   {"query_string": q})),
        uploads().map(lambda files: ("POST", "/verify", {"data": {"file": files},
                                                         "content_type": "multipart/form-data"})),
        segment().map(lambda t: ("GET", f"/vb/{t}", {})),
        st.fixed_dictionaries({}, optional={"code": _code(world), "name": _name(world)}).map(
            lambda q: ("GET", "/lookup/answer.pdf", {"query_string": q})),
        nasty.map(lambda t: ("GET", "/metrics", {"headers": {"Authorization": f"Bearer {t}"[:8000]}}
                             if "\n" not in t and "\r" not in t else {})),
    )


def open311_requests(world: World) -> st.SearchStrategy[Request]:
    """Open311 GeoReport v2 (filing with a valid or a hostile api_key, following) and the OpenAPI document."""
    fmt = st.sampled_from(["json", "xml", "x"])
    filing = form(("first_name", "last_name", "email", "phone", "description", "address_string", "lat", "long",
                   "media_url", "attribute[external_id]", "attribute[fixmystreet_id]", "attribute[description]",
                   "attribute[closest_address]"),
                  api_key=st.one_of(st.just("test-key-1"), nasty),
                  service_code=st.one_of(st.sampled_from(["dat-dai", "y-te", "lao-dong"]), nasty))
    window = st.fixed_dictionaries({}, optional={k: nasty for k in (
        "start_date", "end_date", "status", "service_code", "service_request_id", "api_key")})
    return st.one_of(
        st.just(("GET", "/api/openapi.json", {})),
        fmt.map(lambda f: ("GET", f"/open311/v2/discovery.{f}", {})),
        fmt.map(lambda f: ("GET", f"/open311/v2/services.{f}", {})),
        st.tuples(segment(st.one_of(st.just("dat-dai"), nasty)), fmt).map(
            lambda t: ("GET", f"/open311/v2/services/{t[0]}.{t[1]}", {})),
        st.tuples(fmt, filing).map(lambda t: ("POST", f"/open311/v2/requests.{t[0]}", {"data": t[1]})),
        st.tuples(segment(), fmt).map(lambda t: ("GET", f"/open311/v2/tokens/{t[0]}.{t[1]}", {})),
        st.tuples(segment(_code(world)), fmt).map(lambda t: ("GET", f"/open311/v2/requests/{t[0]}.{t[1]}", {})),
        st.tuples(fmt, window).map(lambda t: ("GET", f"/open311/v2/requests.{t[0]}", {"query_string": t[1]})),
        st.tuples(fmt, window).map(lambda t: ("GET", f"/open311/v2/servicerequestupdates.{t[0]}",
                                              {"query_string": t[1]})),
    )


def api_requests(world: World) -> st.SearchStrategy[Request]:
    """The JSON API with a valid key: reports (any body, any Idempotency-Key), receipts, case views."""
    headers = st.fixed_dictionaries({"X-Api-Key": st.just("test-key-1")}, optional={
        "Idempotency-Key": st.one_of(st.sampled_from([s for s in SAMPLES if "\n" not in s]),
                                     st.text(st.characters(min_codepoint=0, max_codepoint=255,
                                                           blacklist_characters="\r\n"), max_size=120))})
    key = {"X-Api-Key": "test-key-1"}
    return st.one_of(
        st.tuples(json_body(FIELDS), headers).map(lambda t: ("POST", "/api/v1/reports", {
            "data": t[0], "headers": t[1], "content_type": "application/json"})),
        st.tuples(form(FIELDS), headers).map(lambda t: ("POST", "/api/v1/reports", {"data": t[0], "headers": t[1]})),
        st.tuples(form(FIELDS), uploads()).map(lambda t: ("POST", "/api/v1/reports", {
            "data": {**t[0], "attachments": t[1]}, "headers": key, "content_type": "multipart/form-data"})),
        segment().map(lambda r: ("GET", f"/api/v1/receipts/{r}", {"headers": key})),
        st.tuples(segment(_code(world)), _name(world)).map(
            lambda t: ("GET", f"/api/v1/cases/{t[0]}", {"headers": key, "query_string": {"name": t[1]}})),
        open311_requests(world),
    )


TWILIO_INBOUND = ("MessageSid", "SmsSid", "AccountSid", "From", "To", "Body", "NumSegments", "NumMedia",
                  "MediaUrl0", "FromCity", "SmsStatus", "ApiVersion")
TWILIO_STATUS = ("MessageSid", "MessageStatus", "ErrorCode", "AccountSid", "To", "From")


def _signed(settings_: Settings, path: str, params: dict[str, str]) -> Request:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(settings_.public_base_url + path, params)
    return "POST", path, {"data": params, "headers": {"X-Twilio-Signature": signature}}


def sms_requests(settings_: Settings) -> st.SearchStrategy[Request]:
    """Twilio's webhooks, correctly signed, with hostile parameters (and well-formed ones, to reach the store)."""
    sid = st.one_of(st.uuids().map(lambda u: f"SM{u.hex}"), nasty)
    body = st.one_of(st.sampled_from(["PA Cán bộ phường hẹn trả sổ đỏ 3 lần vẫn chưa có", "TC", "HD", "HUY", "DK",
                                      "TC 26-000001-9", "BS 26-000001-9 thêm", "DG 26-000001-9 5", "KDY 26-000001-9"]),
                     nasty)
    inbound = form(TWILIO_INBOUND, MessageSid=sid, From=st.one_of(st.just("+84912345678"), nasty), Body=body)
    status = form(TWILIO_STATUS, MessageSid=sid, MessageStatus=st.one_of(
        st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed", "read"]), nasty))
    return st.one_of(inbound.map(lambda p: _signed(settings_, "/sms/inbound", p)),
                     status.map(lambda p: _signed(settings_, "/sms/status", p)))


def staff_requests(world: World) -> st.SearchStrategy[tuple[str, Request]]:
    """Every staff page, as each role (admin reaches them all; the others get 403/404 where not theirs)."""
    ids = _ids(world)
    call = form(("call_id", "caller", "caller_name", "address", "email", "title", "transcript", "field_hint"))
    coordinator = form(("agency_id", "field", "note", "code"),
                       action=st.sampled_from(["forward", "needs_info", "duplicate", "x"]),
                       agency_id=st.one_of(ints, nasty))
    agency = form(("answer", "reason"), action=st.sampled_from(["answer", "return", "x"]))
    requests = st.one_of(
        st.sampled_from([("GET", p, {}) for p in ("/hotline/", "/hotline/callbacks", "/hotline/import",
                                                    "/coordinator/", "/agency/")]),
        st.fixed_dictionaries({}, optional={"call_id": nasty, "caller": nasty}).map(
            lambda q: ("GET", "/hotline/calls/new", {"query_string": q})),
        call.map(lambda data: ("POST", "/hotline/calls/new", {"data": data})),
        ids.map(lambda i: ("GET", f"/hotline/calls/{i}", {})),
        ids.map(lambda i: ("GET", f"/hotline/calls/{i}/status.json", {})),
        nasty.map(lambda p: ("GET", "/hotline/search", {"query_string": {"phone": p}})),
        st.tuples(st.one_of(st.just(str(world.callback_id)), ints), form(("note", "done"))).map(
            lambda t: ("POST", f"/hotline/callbacks/{t[0]}", {"data": t[1]})),
        ids.map(lambda i: ("GET", f"/coordinator/cases/{i}", {})),
        st.tuples(ids, coordinator).map(lambda t: ("POST", f"/coordinator/cases/{t[0]}", {"data": t[1]})),
        st.one_of(st.sampled_from(world.agency_codes), nasty).map(
            lambda a: ("GET", "/agency/", {"query_string": {"agency": a}})),
        ids.map(lambda i: ("GET", f"/agency/cases/{i}", {})),
        st.tuples(ids, agency).map(lambda t: ("POST", f"/agency/cases/{t[0]}", {"data": t[1]})),
        st.tuples(ids, agency, uploads()).map(lambda t: ("POST", f"/agency/cases/{t[0]}", {
            "data": {**t[1], "files": t[2]}, "content_type": "multipart/form-data"})),
        # statistics and the publication desk
        st.fixed_dictionaries({}, optional={k: nasty for k in ("quy", "tu", "den")}).map(
            lambda q: ("GET", "/thong-ke/", {"query_string": q})),
        st.tuples(st.sampled_from(["csv", "xlsx", "pdf", "x"]), st.fixed_dictionaries({}, optional={
            k: nasty for k in ("quy", "tu", "den", "what", "personal")})).map(
            lambda t: ("GET", f"/thong-ke/export.{t[0]}", {"query_string": t[1]})),
        st.just(("GET", "/coordinator/publication/", {})),
        st.just(("GET", "/admin/webhooks", {})),
        form(("url", "events", "id"), action=st.sampled_from(["add", "remove", "resume", "x"])).map(
            lambda data: ("POST", "/admin/webhooks", {"data": data})),
        ids.map(lambda i: ("POST", f"/coordinator/publication/propose/{i}", {})),
        ids.map(lambda i: ("GET", f"/coordinator/publication/{i}", {})),
        st.tuples(ids, form(("title", "content", "answer", "reason", "checked"),
                            action=st.sampled_from(["publish", "take_down", "decline", "save", "x"]))).map(
            lambda t: ("POST", f"/coordinator/publication/{t[0]}", {"data": t[1]})),
    )
    return st.tuples(st.sampled_from(sorted(world.clients)), requests)


def _rows(draw_text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    header = "call_id,started_at,caller,caller_name,address,email,title,transcript\n"
    row = st.lists(draw_text, min_size=8, max_size=8).map(
        lambda cells: ",".join('"' + c.replace('"', '""') + '"' for c in cells) + "\n")
    return st.lists(row, max_size=4).map(lambda rows: (header + "".join(rows)).encode("utf-8", "surrogatepass"))


def import_files() -> st.SearchStrategy[dict[str, Any]]:
    """A keyed-call file (CSV, JSON Lines or junk) and maybe a CDR (18 columns of anything, or junk)."""
    jsonl = st.lists(st.dictionaries(st.sampled_from(["call_id", "caller", "caller_name", "title", "transcript",
                                                      "started_at", "address", "email"]),
                                     st.one_of(nasty, st.integers(), st.none()), max_size=8), max_size=4)
    keyed = st.one_of(_rows(nasty).map(lambda b: (b, "calls.csv")),
                      jsonl.map(lambda rows: (b"".join(json.dumps(r).encode() + b"\n" for r in rows), "calls.jsonl")),
                      st.binary(max_size=300).map(lambda b: (b, "calls.csv")))
    cdr_line = st.lists(st.one_of(st.sampled_from(["ANSWERED", "NO ANSWER", "BUSY", "²", "9" * 40, "1700000000.1",
                                                   "2026-11-21 08:00:00"]), any_text), min_size=18, max_size=18).map(
        lambda cells: ",".join('"' + c.replace('"', '""') + '"' for c in cells) + "\n")
    cdr = st.one_of(st.lists(cdr_line, max_size=3).map(lambda lines: "".join(lines).encode()),
                    st.binary(max_size=200))
    return st.tuples(keyed, st.one_of(st.none(), cdr)).map(lambda t: {
        "calls": (io.BytesIO(t[0][0]), t[0][1]), **({"cdr": (io.BytesIO(t[1]), "Master.csv")} if t[1] else {})})


# --- the properties ---------------------------------------------------------------

@bounded(300)
@given(data=st.data())
def test_public_pages_never_fail(client: Any, world: World, redis_conn: redis.Redis, data: st.DataObject) -> None:
    for key in redis_conn.scan_iter("pakn:rl:login:*"):  # the login limit is fixed (20 in 10 minutes)
        redis_conn.delete(key)
    _send(client, data.draw(public_requests(world)))


@bounded(300)
@given(data=st.data())
def test_api_never_fails(client: Any, world: World, data: st.DataObject) -> None:
    _send(client, data.draw(api_requests(world)))


@bounded(200)
@given(data=st.data())
def test_signed_sms_webhooks_never_fail(client: Any, settings: Settings, data: st.DataObject) -> None:
    _send(client, data.draw(sms_requests(settings)))


@bounded(300)
@given(data=st.data())
def test_staff_pages_never_fail(world: World, data: st.DataObject) -> None:
    role, request = data.draw(staff_requests(world))
    response = _send(world.clients[role], request)
    assert not response.headers.get("Location", "").startswith("/staff/login"), "signed out: the fuzzing stopped"


@bounded(80)
@given(files=import_files())
def test_call_log_import_never_fails(world: World, files: dict[str, Any]) -> None:
    _send(world.clients["coordinator"], ("POST", "/hotline/import", {"data": files,
                                                                     "content_type": "multipart/form-data"}))
