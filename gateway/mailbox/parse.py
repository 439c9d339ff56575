"""Reading a received email: addresses, threading headers, text in any charset, files.

Pure functions over the raw bytes; nothing here touches the database.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from channels.base import RawFile
from normalizer.text import match_key, nfc

PLUS_ADDRESS = re.compile(r"\+([0-9][0-9.\- ]{6,14}[0-9])@", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
AUTO_SUBJECTS = re.compile(
    r"^(auto(matic)? ?(reply|response)|auto:|out of (the )?office|tr[aả] l[oờ]i t[uự] [dđ][oộ]ng|v[aắ]ng m[aặ]t)",
    re.IGNORECASE,
)
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
BOUNCE_SUBJECTS = re.compile(
    r"(undeliver|delivery status notification|delivery (has )?failed|returned mail|failure notice|"
    r"mail delivery failed|không gửi được)", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    """What the gateway needs of one received message."""

    key: str  # the inbound row's external id: a digest of the Message-ID (or of the bytes)
    message_id: str
    sender: str  # the From address, lower case
    sender_name: str
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To (lower case)
    subject: str
    references: tuple[str, ...]  # In-Reply-To then References, "<…>" each
    text: str  # the reply itself: NFC, quoted history and signature removed
    files: tuple[RawFile, ...] = ()
    auto_reply: bool = False
    bounce: bool = False
    spoofed: bool = False  # our mail server found the From domain's DMARC check failed
    authenticated: bool = False  # our mail server found DMARC or DKIM passing for the sender
    bounced_ids: tuple[str, ...] = field(default=())  # Message-IDs of the messages that bounced

    def codes(self) -> list[str]:
        """Candidate PAKN codes from plus addresses (``pakn+26-000123-4@…``)."""
        found = []
        for address in self.recipients:
            match = PLUS_ADDRESS.search(address)
            if match:
                found.append(match.group(1))
        return found


def message_key(message_id: str, raw: bytes) -> str:
    """A stable identity of a message: its Message-ID, or its bytes when it has none."""
    basis = message_id.strip().encode() if message_id.strip() else raw
    return hashlib.sha256(basis).hexdigest()


def _addresses(msg: Message, *names: str) -> tuple[str, ...]:
    values = [str(v) for name in names for v in (msg.get_all(name) or [])]
    return tuple(addr.lower() for _, addr in getaddresses(values) if addr)


def _ids(msg: Message, *names: str) -> tuple[str, ...]:
    found: list[str] = []
    for name in names:
        for value in msg.get_all(name) or []:
            found.extend(MESSAGE_ID.findall(str(value)))
    return tuple(dict.fromkeys(found))


def _decoded(part: Message) -> str:
    """A text part's content in whatever charset it declares (or UTF-8, forgivingly)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    charset = (part.get_content_charset() or "utf-8").lower()
    aliases = {"windows-1258": "cp1258", "x-viet-vps": "cp1258", "ks_c_5601-1987": "euc-kr"}
    for candidate in (aliases.get(charset, charset), "utf-8", "cp1258"):
        try:
            return nfc(payload.decode(candidate))
        except (LookupError, UnicodeDecodeError):
            continue
    return nfc(payload.decode("utf-8", errors="replace"))


class _HtmlText(HTMLParser):
    """HTML to plain text; stops at the quoted history that mail clients mark up."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul", "ol", "hr", "pre"})
    SKIP = frozenset({"script", "style", "head", "title"})
    QUOTE_CLASSES = frozenset({"gmail_quote", "moz-cite-prefix", "yahoo_quoted", "zmail_extra"})
    QUOTE_IDS = frozenset({"divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").lower().split())
        if (tag == "blockquote" or classes & self.QUOTE_CLASSES
                or (values.get("id") or "").lower() in self.QUOTE_IDS):
            self.stopped = True  # replies are written above the quote: the rest is history
            return
        if tag in self.SKIP:
            self.skipping += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        if tag in self.BLOCKS and not self.stopped:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.stopped and not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The visible text of an HTML mail body, without the quoted history."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


QUOTE_HEADERS = (
    re.compile(r"^on .{5,300} wrote:\s*$", re.IGNORECASE),
    re.compile(r"^(vào )?.{5,300} đã viết:\s*$", re.IGNORECASE),
    re.compile(r"^le .{5,300} a écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*(original message|forwarded message|thư gốc|tin nhắn gốc)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),
)
WRAPPED_TAIL = re.compile(r"^(wrote|đã viết|a écrit)\s*:\s*$", re.IGNORECASE)
SIGNATURES = (
    re.compile(r"^--\s*$"),
    re.compile(r"^(sent from my|gửi từ|được gửi từ|get outlook for)\b", re.IGNORECASE),
)
HEADER_BLOCK = re.compile(r"^\*?(from|từ|người gửi)\s*:\*?\s", re.IGNORECASE)
HEADER_NEXT = re.compile(r"^\*?(sent|date|đã gửi|ngày|gửi lúc|to|đến|gửi tới|subject|tiêu đề|chủ đề)\s*:",
                         re.IGNORECASE)


def strip_reply(text: str) -> str:
    """The new text of a reply: quoted history, reply headers and the signature removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">"):
            break
        following_line = lines[index + 1].strip() if index + 1 < len(lines) else ""
        wrapped = WRAPPED_TAIL.match(following_line)  # clients wrap "On … <addr>" / "wrote:" over two lines
        joined = f"{stripped} {following_line}" if wrapped else stripped
        if any(p.match(stripped) or p.match(joined) for p in QUOTE_HEADERS):
            break
        if any(p.match(stripped) for p in SIGNATURES):
            break
        following = [n.strip() for n in lines[index + 1:index + 4]]
        if HEADER_BLOCK.match(stripped) and any(HEADER_NEXT.match(n) for n in following):
            break
        kept.append(line.rstrip())
    # A wrapped "On … <addr>" line just above the cut belongs to the quote header.
    while kept and (not kept[-1].strip() or (re.match(r"^(on|vào) .{5,}$", kept[-1].strip(), re.IGNORECASE)
                                             and "@" in kept[-1])):
        kept.pop()
    return nfc("\n".join(kept).strip())


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _decoded(part)
    return html_to_text(content) if part.get_content_type() == "text/html" else content


def _files(msg: EmailMessage) -> tuple[RawFile, ...]:
    files = []
    for part in msg.iter_attachments():
        if part.get_content_maintype() in ("multipart", "message"):
            continue
        name = part.get_filename()
        data = part.get_payload(decode=True)
        if name and isinstance(data, bytes):
            files.append(RawFile(filename=nfc(name), data=data))
    return tuple(files)


def _is_bounce(msg: EmailMessage, sender: str) -> bool:
    if msg.get_content_type() == "multipart/report" and (msg.get_param("report-type") or "") == "delivery-status":
        return True
    return bool(BOUNCE_SENDERS.match(sender) and BOUNCE_SUBJECTS.search(str(msg.get("Subject", ""))))


def _bounced_ids(msg: EmailMessage) -> tuple[str, ...]:
    """Message-IDs of the returned message (its attached copy or headers)."""
    found: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner_msg, Message):
                found.extend(_ids(inner_msg, "Message-ID"))
        elif kind == "text/rfc822-headers":
            headers = email.message_from_string(_decoded(part), policy=email.policy.default)
            found.extend(_ids(headers, "Message-ID"))
    if not found:  # some servers quote the headers in the text
        found.extend(re.findall(r"Message-ID:\s*(<[^<>\s]+>)", _body(msg), re.IGNORECASE))
    return tuple(dict.fromkeys(found))


def _is_auto_reply(msg: EmailMessage) -> bool:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True  # RFC 3834
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return True
    if str(msg.get("Precedence", "")).strip().lower() in {"auto_reply", "bulk", "junk", "list"}:
        return True
    return bool(AUTO_SUBJECTS.match(str(msg.get("Subject", "")).strip()))


DMARC_FAIL = re.compile(r"\bdmarc=fail\b", re.IGNORECASE)
AUTH_PASS = re.compile(r"\b(?:dmarc|dkim)=pass\b", re.IGNORECASE)


def _authenticated(msg: EmailMessage) -> bool:
    """Our receiving server's verdict, the topmost Authentication-Results: DMARC or DKIM passed.

    Only the first header is the receiving server's; headers further down came with the
    message and prove nothing.
    """
    results = msg.get_all("Authentication-Results") or []
    return bool(results) and AUTH_PASS.search(str(results[0])) is not None


def _dmarc_failed(msg: EmailMessage) -> bool:
    """The receiving server's verdict (RFC 8601 Authentication-Results): DMARC failed.

    A sender cannot improve its own verdict by adding a header that says "pass"; only a
    failure is acted upon, so forged headers gain nothing.
    """
    return any(DMARC_FAIL.search(str(value)) for value in msg.get_all("Authentication-Results") or [])


def read(raw: bytes) -> Mail:
    """Parse ``raw`` (RFC 5322 bytes) into a :class:`Mail`."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    message_id = next(iter(_ids(msg, "Message-ID")), "")
    name, sender = parseaddr(str(msg.get("From", "")))
    sender = sender.lower()
    bounce = _is_bounce(msg, sender)
    text = "" if bounce else strip_reply(_body(msg))
    return Mail(
        key=message_key(message_id, raw),
        message_id=message_id,
        sender=sender,
        sender_name=nfc(name),
        recipients=_addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To"),
        subject=nfc(str(msg.get("Subject", "")).strip()),
        references=_ids(msg, "In-Reply-To", "References"),
        text=text,
        files=() if bounce else _files(msg),
        auto_reply=not bounce and _is_auto_reply(msg),
        bounce=bounce,
        bounced_ids=_bounced_ids(msg) if bounce else (),
        spoofed=_dmarc_failed(msg),
        authenticated=_authenticated(msg),
    )


def is_progress(subject: str) -> bool:
    """True when the agency marked its reply as a progress note (diacritics optional)."""
    from gateway.routing import PROGRESS_WORD

    return match_key(PROGRESS_WORD) in match_key(subject)
