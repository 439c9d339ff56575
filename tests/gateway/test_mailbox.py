"""Mail that comes back, through a real Dovecot: replies as real clients write them, once each."""

from __future__ import annotations

import base64
import json
import quopri
import unicodedata
import uuid
from collections.abc import Callable
from email.message import Message
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlmodel import Session, col, select

from channels.email import ImapMailbox
from config.settings import Settings
from gateway import mailbox
from gateway.constants import CaseStatus, Channel, EventKind, OutboundStatus
from gateway.models import Attachment, Case, Event, InboundMessage, OutboundMessage
from gateway.storage import LocalStorage
from tests.conftest import IMAP_PASSWORD, Dovecot, SmtpServer
from tests.factories import fields, jpg_bytes, pdf_bytes
from tests.test_routing import LAND, directory_loaded  # noqa: F401 (fixture)

AGENCY = "vanthu@nnmt.gov.example"
PNG = base64.encodebytes(b"\x89PNG\r\n\x1a\nfake").decode()
ANSWER = ("Kính gửi Ông/Bà, Văn phòng đăng ký đất đai đã cấp giấy chứng nhận quyền sử dụng đất ngày 20/11/2026; "
          "đề nghị Ông/Bà đến nhận tại bộ phận một cửa.")


# --- building messages as the clients do ---------------------------------------------------

def to_cp1258(text: str) -> bytes:
    """Vietnamese as Windows writes it: shaped vowels precomposed, tone marks combining after them."""
    shapes = {"\u0302", "\u0306", "\u031b"}
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch) and out:
            base, tones = out[-1][0], out[-1][1:]
            out[-1] = (unicodedata.normalize("NFC", base + ch) + tones) if ch in shapes else out[-1] + ch
        else:
            out.append(ch)
    return "".join(out).encode("cp1258")


def _headers(*, sender: str, to: str, subject: str, message_id: str, extra: str = "") -> bytes:
    encoded = "=?UTF-8?B?" + base64.b64encode(subject.encode()).decode() + "?="
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {encoded}\r\nMessage-ID: {message_id}\r\n"
            f"Date: Mon, 23 Nov 2026 09:15:00 +0700\r\nMIME-Version: 1.0\r\n{extra}").encode()


def outlook(*, to: str, subject: str, forward_id: str, text: str, pdf: bytes) -> bytes:
    """Outlook: plain + HTML, the original under a From/Sent block, a PDF and a signature logo."""
    plain = (f"{text}\r\n\r\nTrân trọng,\r\nVăn thư Bộ NN&MT\r\n\r\n________________________________\r\n"
             f"From: PAKN <pakn@pakn.example.gov.vn>\r\nSent: Monday, November 23, 2026 8:00 AM\r\n"
             f"To: vanthu@nnmt.gov.example\r\nSubject: {subject}\r\n\r\nKính gửi Bộ Nông nghiệp…\r\n")
    html = (f"<html><body><div>{text}</div><div>Trân trọng,</div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> PAKN"
            "<br>Kính gửi Bộ Nông nghiệp…</div></body></html>")
    b = "----=_NextPart_000_0001"
    a = "----=_NextPart_000_0002"
    return (_headers(sender=f"Văn thư <{AGENCY}>", to=to, subject=f"RE: {subject}",
                     message_id=f"<{uuid.uuid4().hex}@nnmt.gov.example>",
                     extra=f"In-Reply-To: {forward_id}\r\nThread-Topic: x\r\nX-MS-Has-Attach: yes\r\n"
                           f"Content-Type: multipart/mixed; boundary=\"{b}\"\r\n") + (
        f"\r\n--{b}\r\nContent-Type: multipart/alternative; boundary=\"{a}\"\r\n\r\n"
        f"--{a}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.encodebytes(plain.encode()).decode()}\r\n"
        f"--{a}\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{quopri.encodestring(html.encode()).decode()}\r\n--{a}--\r\n"
        f"--{b}\r\nContent-Type: application/pdf; name=\"Cong van tra loi.pdf\"\r\n"
        f"Content-Disposition: attachment; filename=\"Cong van tra loi.pdf\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.encodebytes(pdf).decode()}\r\n"
        f"--{b}\r\nContent-Type: image/png; name=\"image001.png\"\r\n"
        f"Content-Disposition: inline; filename=\"image001.png\"\r\n"
        f"Content-ID: <image001.png@01DB>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{PNG}\r\n--{b}--\r\n").encode())


def gmail(*, sender: str, subject: str, forward_id: str, text: str) -> bytes:
    """Gmail (Vietnamese UI): to the plain address, threaded by In-Reply-To, quote after 'đã viết:'."""
    plain = (f"{text}\r\n\r\nVào Th 2, 23 thg 11, 2026 vào lúc 08:00 PAKN <pakn@pakn.example.gov.vn>\r\n"
             f"đã viết:\r\n\r\n> Kính gửi Bộ Nông nghiệp và Môi trường,\r\n> …\r\n")
    html = (f"<div dir=\"ltr\">{text}</div><br><div class=\"gmail_quote\"><div class=\"gmail_attr\">Vào Th 2 … "
            "đã viết:<br></div><blockquote>Kính gửi …</blockquote></div>")
    b = "000000000000a1b2c3"
    return _headers(sender=sender, to="pakn@pakn.example.gov.vn", subject=subject,
                    message_id=f"<CAF{uuid.uuid4().hex}@mail.gmail.com>",
                    extra=f"In-Reply-To: {forward_id}\r\nReferences: {forward_id}\r\n"
                          f"Content-Type: multipart/alternative; boundary=\"{b}\"\r\n") + (
        f"\r\n--{b}\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.encodebytes(plain.encode()).decode()}\r\n"
        f"--{b}\r\nContent-Type: text/html; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{quopri.encodestring(html.encode()).decode()}\r\n--{b}--\r\n").encode()


def thunderbird(*, sender: str, to: str, subject: str, text: str, jpg: bytes) -> bytes:
    """Thunderbird: format=flowed quoted-printable, 'On … wrote:' and '>' quotes, signature, a photo."""
    plain = (f"{text}\r\n\r\n-- \r\nNguyễn Thị Hồng Nhung\r\n0912 345 678\r\n\r\n"
             f"On 23/11/2026 08:00, PAKN wrote:\r\n> Kính gửi Ông/Bà,\r\n> PAKN của Ông/Bà đã được tiếp nhận\r\n")
    b = "------------Zx9y8w7v6u5t"
    return _headers(sender=f"Nguyễn Thị Hồng Nhung <{sender}>", to=to, subject=subject,
                    message_id=f"<{uuid.uuid4()}@example.com>",
                    extra=f"User-Agent: Mozilla Thunderbird\r\nContent-Type: multipart/mixed; boundary=\"{b}\"\r\n") + (
        f"\r\nThis is a multi-part message in MIME format.\r\n--{b}\r\n"
        f"Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{quopri.encodestring(plain.encode()).decode()}\r\n"
        f"--{b}\r\nContent-Type: image/jpeg; name=\"bien-nhan.jpg\"\r\nContent-Disposition: attachment; "
        f"filename=\"bien-nhan.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{base64.encodebytes(jpg).decode()}\r\n"
        f"--{b}--\r\n").encode()


def webmail_1258(*, to: str, subject: str, text: str, verdict: str = "dkim=pass header.d=nnmt.gov.example") -> bytes:
    """A Vietnamese webmail: HTML only, windows-1258, quoted-printable, the quote in a blockquote, no
    In-Reply-To; our mail server's Authentication-Results (the topmost) carries ``verdict``."""
    html = to_cp1258(f"<html><body><p>{text}</p><p>Trân trọng.</p>"
                     "<blockquote>Văn phòng điều phối chuyển đến Quý cơ quan…</blockquote></body></html>")
    ours = f"Authentication-Results: mx.pakn.example.gov.vn; {verdict}\r\n".encode()
    return ours + _headers(sender=f"Phòng Đăng ký <{AGENCY}>", to=to, subject=subject,
                           message_id=f"<{uuid.uuid4().hex}@webmail.nnmt.gov.example>",
                           extra="Authentication-Results: forged.example; dkim=pass\r\n"
                                 "Content-Type: text/html; charset=windows-1258\r\n"
                                 "Content-Transfer-Encoding: quoted-printable\r\n") + b"\r\n" + quopri.encodestring(
                                     html)


def auto_reply(*, to: str, subject: str) -> bytes:
    """An out-of-office answer (RFC 3834)."""
    return _headers(sender=AGENCY, to=to, subject=f"Trả lời tự động: {subject}",
                    message_id=f"<{uuid.uuid4().hex}@nnmt.gov.example>",
                    extra="Auto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n") + (
        "\r\nTôi đang nghỉ phép đến hết ngày 30/11, xin liên hệ văn thư.\r\n").encode()


def bounce(*, original_id: str, recipient: str) -> bytes:
    """A delivery status notification (RFC 3464) returning one of our messages."""
    b = "9B095B5ADSN=_01DB3D"
    return (f"From: Mail Delivery System <MAILER-DAEMON@pakn.example.gov.vn>\r\nTo: pakn@pakn.example.gov.vn\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{uuid.uuid4().hex}@pakn.example.gov.vn>\r\n"
            f"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"{b}\"\r\n\r\n"
            f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n<{recipient}>: host mx.example.com said: "
            f"550 5.1.1 User unknown\r\n"
            f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; pakn.example.gov.vn\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            f"--{b}\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: pakn@pakn.example.gov.vn\r\nTo: {recipient}\r\n"
            f"Message-ID: {original_id}\r\nSubject: PAKN\r\n--{b}--\r\n").encode()


# --- the scenario ----------------------------------------------------------------------------

def _file_cases(client: Any, run_worker: Callable[[], None], count: int) -> list[str]:
    receipts = []
    for i in range(count):
        body = fields(**LAND, email=f"nguoidan{i}@example.com", full_name=f"Nguyễn Thị Hồng Nhung {i}")
        response = client.post("/api/v1/reports", json=body, headers={"X-Api-Key": "test-key-1"})
        assert response.status_code == 202, response.text
        receipts.append(response.json["receipt"])
    run_worker()
    return receipts


def _forward(smtp: SmtpServer, code: str) -> Message:
    found = [m for m in smtp.messages if "nnmt.gov.example" in str(m["To"]) and code in str(m["Subject"])]
    assert len(found) == 1
    return found[0]


def _ack(smtp: SmtpServer, email: str) -> Message:
    found = [m for m in smtp.messages if str(m["To"]) == email]
    assert len(found) == 1
    return found[0]


def _deliver(url: str, raws: list[bytes]) -> None:
    box = ImapMailbox(url, "PAKN-done")
    with IMAPClient(box.host, port=box.port, ssl=False) as imap:
        imap.login(box.username, IMAP_PASSWORD)
        for raw in raws:
            imap.append("INBOX", raw)


def _count(url: str, folder: str) -> int:
    box = ImapMailbox(url, "PAKN-done")
    with IMAPClient(box.host, port=box.port, ssl=False) as imap:
        imap.login(box.username, IMAP_PASSWORD)
        if not imap.folder_exists(folder):
            return 0
        return int(imap.select_folder(folder, readonly=True)[b"EXISTS"])


def _poll(settings: Settings, engine: Any) -> dict[str, int]:
    return mailbox.poll(settings=settings, engine=engine, storage=LocalStorage(settings.upload_dir), replies=None)


@pytest.fixture
def imap_settings(settings: Settings, dovecot: Dovecot) -> Settings:
    """Settings with a fresh mailbox of this test's own."""
    return settings.with_(imap_url=dovecot.url(f"pakn{uuid.uuid4().hex[:10]}"))


def _case(db: Session, receipt: str) -> Case:
    db.expire_all()
    case = db.exec(select(Case).where(Case.receipt == receipt)).one()
    return case


@pytest.mark.usefixtures("directory_loaded")
def test_replies_as_real_clients_write_them_act_once(client: Any, run_worker: Callable[[], None], smtp: SmtpServer,
                                                     imap_settings: Settings, engine: Any, db: Session) -> None:
    receipts = _file_cases(client, run_worker, 6)
    cases = [_case(db, r) for r in receipts]
    assert all(c.status == CaseStatus.forwarded for c in cases), [c.status for c in cases]
    a, b, c, d, e, f = cases
    fwd = {x.code: _forward(smtp, x.code or "") for x in cases}
    plus = {x.code: f"pakn+{x.code}@pakn.example.gov.vn" for x in cases}
    assert fwd[a.code]["Reply-To"] == plus[a.code]
    assert "TIẾN ĐỘ" in next(p for p in fwd[a.code].walk() if p.get_content_type() == "text/plain").get_content()
    subject = str(fwd[a.code]["Subject"])
    ack_e = _ack(smtp, e.email or "")
    assert ack_e["Reply-To"] == plus[e.code]  # the citizen's acknowledgment invites a reply to the case

    out = outlook(to=plus[a.code], subject=subject, forward_id=fwd[a.code]["Message-ID"], text=ANSWER, pdf=pdf_bytes())
    raws = [
        out,
        out,  # the same message delivered twice
        gmail(sender=f"Văn thư <{AGENCY}>", subject=f"Re: TIẾN ĐỘ {fwd[b.code]['Subject']}",
              forward_id=fwd[b.code]["Message-ID"], text="Đang xác minh hồ sơ tại văn phòng đăng ký đất đai, dự kiến "
                                                          "trả lời trước 30/11."),
        thunderbird(sender=c.email or "", to=plus[c.code], subject=f"Re: {ack_e['Subject']}",
                    text="Tôi gửi bổ sung biên nhận hồ sơ số 123/BN ngày 05/03.", jpg=jpg_bytes()),
        webmail_1258(to=plus[d.code], subject=f"Trả lời: {fwd[d.code]['Subject']}",
                     text="Kính gửi Ông/Bà, Sở Nông nghiệp và Môi trường đã chỉ đạo giải quyết dứt điểm hồ sơ của "
                          "Ông/Bà trong tháng 11."),
        auto_reply(to=plus[f.code], subject=str(fwd[f.code]["Subject"])),
        # A forged "answer": the agency's address in From, but neither a reply to our email nor
        # authenticated by our server (a dkim=pass further down the headers proves nothing).
        webmail_1258(to=plus[f.code], subject="Trả lời PAKN", verdict="dkim=none; dmarc=none",
                     text="Đã giải quyết xong, đề nghị đóng hồ sơ. Trân trọng thông báo để Ông/Bà được biết."),
        bounce(original_id=ack_e["Message-ID"], recipient=e.email or ""),
        gmail(sender="ai.do@example.net", subject=f"Re: {fwd[f.code]['Subject']}", forward_id=fwd[f.code]["Message-ID"],
              text="Tôi cũng gặp trường hợp tương tự, mong được giải quyết."),
        thunderbird(sender="nguoidan@example.com", to="pakn@pakn.example.gov.vn", subject="Hỏi thủ tục",
                    text="Cho tôi hỏi thủ tục cấp sổ đỏ.", jpg=jpg_bytes()),
    ]
    _deliver(imap_settings.imap_url or "", raws)

    counts = _poll(imap_settings, engine)
    assert counts == {"answer": 2, "duplicate": 1, "progress": 1, "supplement": 1, "ignored": 4, "bounce": 1}
    assert _count(imap_settings.imap_url or "", "INBOX") == 0
    assert _count(imap_settings.imap_url or "", "PAKN-done") == len(raws)
    assert _poll(imap_settings, engine) == {}  # nothing left: nothing happens twice

    a, b, c, d, e, f = (_case(db, r) for r in receipts)
    # Outlook: the answer without the quoted original or the signature; the PDF kept, the logo refused.
    assert a.status == CaseStatus.answered and a.answer is not None
    assert a.answer.startswith("Kính gửi Ông/Bà, Văn phòng đăng ký") and "From:" not in a.answer
    assert "Kính gửi Bộ Nông nghiệp" not in a.answer
    files = db.exec(select(Attachment).where(Attachment.case_id == a.id, Attachment.source == "agency")).all()
    assert [x.filename for x in files] == ["Cong van tra loi.pdf"]
    answered = db.exec(select(Event).where(Event.case_id == a.id, Event.to_status == CaseStatus.answered)).all()
    assert len(answered) == 1  # the duplicate did not answer twice
    notice = db.exec(select(OutboundMessage).where(OutboundMessage.case_id == a.id,
                                                   OutboundMessage.purpose == "notice-answer")).all()
    assert len(notice) == 1 and notice[0].recipient == a.email  # the citizen is told over the case's channel
    # Gmail with TIẾN ĐỘ: a progress note, the case stays with the agency.
    assert b.status == CaseStatus.forwarded
    notes = db.exec(select(Event).where(Event.case_id == b.id, Event.kind == EventKind.progress)).all()
    assert len(notes) == 1 and notes[0].note == ("Đang xác minh hồ sơ tại văn phòng đăng ký đất đai, dự kiến trả lời "
                                                 "trước 30/11.")
    # Thunderbird from the citizen: a supplement with the photo; no quote, no signature.
    assert "Tôi gửi bổ sung biên nhận hồ sơ số 123/BN ngày 05/03." in c.content
    assert "Nguyễn Thị Hồng Nhung\n0912" not in c.content and "> Kính gửi" not in c.content
    assert db.exec(select(Attachment).where(Attachment.case_id == c.id, Attachment.source == "citizen")).one()
    # windows-1258 HTML only: read, composed (NFC), quote dropped.
    assert d.status == CaseStatus.answered
    assert d.answer == unicodedata.normalize("NFC", "Kính gửi Ông/Bà, Sở Nông nghiệp và Môi trường đã chỉ đạo giải "
                                             "quyết dứt điểm hồ sơ của Ông/Bà trong tháng 11.\n\nTrân trọng.")
    # The bounce: the acknowledgment failed; the citizen gets it by SMS instead.
    ack = db.exec(select(OutboundMessage).where(OutboundMessage.case_id == e.id, OutboundMessage.purpose == "ack",
                                                OutboundMessage.channel == Channel.email)).one()
    assert ack.status == OutboundStatus.failed
    sms = db.exec(select(OutboundMessage).where(OutboundMessage.case_id == e.id,
                                                OutboundMessage.channel == Channel.sms)).all()
    assert len(sms) == 1 and sms[0].recipient == e.phone and e.code in sms[0].body
    # Not acted on: auto-reply, unknown sender, no code — kept with the reason.
    assert f.status == CaseStatus.forwarded
    kept = {json.loads(r.payload)["fields"]["from"]: r.error for r in mailbox.not_acted_on(db)}
    assert "Auto-Submitted" in (kept[AGENCY] or "")
    assert "không phải cơ quan" in (kept["ai.do@example.net"] or "")
    assert "Không tìm thấy mã" in (kept["nguoidan@example.com"] or "")
    assert "nguoidan4@example.com" in (kept["mailer-daemon@pakn.example.gov.vn"] or "")
    stored = db.exec(select(InboundMessage).where(InboundMessage.channel == Channel.email)).all()
    assert len(stored) == len(raws) - 1  # one row per message, the duplicate not stored again
    # The coordinator sees them on the desk.
    from tests.factories import login, make_staff

    make_staff(db, "coordinator")
    login(client, "coordinator")
    desk = client.get("/coordinator/")
    assert "Thư đến không xử lý được" in desk.text and "ai.do@example.net" in desk.text


class Crash(BaseException):
    """The worker dying (not an ordinary error: nothing may catch it)."""


@pytest.mark.usefixtures("directory_loaded")
def test_a_crash_between_reading_and_committing_loses_nothing(client: Any, run_worker: Callable[[], None],
                                                              smtp: SmtpServer, imap_settings: Settings, engine: Any,
                                                              db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    (receipt,) = _file_cases(client, run_worker, 1)
    case = _case(db, receipt)
    fwd = _forward(smtp, case.code or "")
    raw = outlook(to=f"pakn+{case.code}@pakn.example.gov.vn", subject=str(fwd["Subject"]),
                  forward_id=fwd["Message-ID"], text=ANSWER, pdf=pdf_bytes())
    _deliver(imap_settings.imap_url or "", [raw])
    decide = mailbox.decide

    def dies_after_acting(*args: Any, **kwargs: Any) -> Any:
        decide(*args, **kwargs)  # the answer is in the session, files on disk …
        raise Crash  # … and the process dies before the commit

    monkeypatch.setattr(mailbox, "decide", dies_after_acting)
    with pytest.raises(Crash):
        _poll(imap_settings, engine)
    assert _case(db, receipt).status == CaseStatus.forwarded
    assert db.exec(select(InboundMessage).where(InboundMessage.channel == Channel.email)).all() == []
    assert db.exec(select(Attachment).where(Attachment.source == "agency")).all() == []
    assert _count(imap_settings.imap_url or "", "INBOX") == 1  # still there to be read again
    monkeypatch.setattr(mailbox, "decide", decide)

    # Dies after the commit, before the move: the next poll only moves it.
    moves = {"n": 0}
    done = ImapMailbox.done

    def dies_before_moving(self: ImapMailbox, uid: int) -> None:
        moves["n"] += 1
        if moves["n"] == 1:
            raise Crash
        done(self, uid)

    monkeypatch.setattr(ImapMailbox, "done", dies_before_moving)
    with pytest.raises(Crash):
        _poll(imap_settings, engine)
    assert _case(db, receipt).status == CaseStatus.answered
    assert _count(imap_settings.imap_url or "", "INBOX") == 1
    assert _poll(imap_settings, engine) == {"duplicate": 1}
    assert _count(imap_settings.imap_url or "", "INBOX") == 0
    events = db.exec(select(Event).where(Event.case_id == case.id, Event.to_status == CaseStatus.answered)).all()
    assert len(events) == 1
    files = db.exec(select(Attachment).where(Attachment.case_id == case.id, col(Attachment.source) == "agency")).all()
    assert len(files) == 1
    assert sum(1 for _ in (imap_settings.upload_dir).rglob("*") if _.is_file()) == 1  # the crashed copy removed


def test_unset_imap_url_returns_at_once(settings: Settings, engine: Any) -> None:
    assert settings.imap_url is None
    assert _poll(settings, engine) == {}


def test_an_unreadable_message_is_kept_and_does_not_block_the_others(imap_settings: Settings, engine: Any,
                                                                     db: Session,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    poison = b"From: x@example.com\r\nSubject: poison\r\n\r\n\xff\xfe"
    fine = auto_reply(to="pakn@pakn.example.gov.vn", subject="PAKN")
    _deliver(imap_settings.imap_url or "", [poison, fine])
    parse = mailbox.read

    def fragile(raw: bytes) -> Any:
        if b"poison" in raw:
            raise ValueError("cannot parse")
        return parse(raw)

    monkeypatch.setattr(mailbox, "read", fragile)
    assert _poll(imap_settings, engine) == {"ignored": 2}
    assert _count(imap_settings.imap_url or "", "INBOX") == 0
    reasons = sorted(r.error or "" for r in mailbox.not_acted_on(db))
    assert reasons[0] == "Thư không đọc được (ValueError: cannot parse)"
    assert reasons[1] == "Thư trả lời tự động (Auto-Submitted)"
