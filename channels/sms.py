"""SMS 8088 over Twilio: inbound webhook parsing, the command grammar, outbound sending."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels.base import DeliveryResult, InboundMessage, OutboundMessage
from gateway.codes import parse
from gateway.constants import Channel
from gateway.exceptions import CodeError
from normalizer import bounds
from normalizer.text import clean_block, fold

TWILIO_TIMEOUT = 15
RECONCILE_LOOKBACK = 20  # most recent messages to the same number checked after an interrupted send
RECONCILE_SLACK = timedelta(minutes=2)  # clock difference tolerated between us and Twilio


class Keyword(StrEnum):
    """What an SMS asks for (DESIGN.md §4)."""

    new = "PA"  # new PAKN (explicit keyword or free text)
    status = "TC"
    supplement = "BS"
    rate = "DG"
    disagree = "KDY"
    no_publish = "KCK"  # "không công khai": do not publish this case
    help = "HD"
    stop = "HUY"
    start = "DK"


# Folded, upper-case spellings (one or more words) → keyword.
ALIASES: dict[tuple[str, ...], Keyword] = {
    ("PA",): Keyword.new, ("PHAN", "ANH"): Keyword.new, ("KIEN", "NGHI"): Keyword.new,
    ("TC",): Keyword.status, ("TRA", "CUU"): Keyword.status,
    ("BS",): Keyword.supplement, ("BO", "SUNG"): Keyword.supplement,
    ("DG",): Keyword.rate, ("DANH", "GIA"): Keyword.rate,
    ("KDY",): Keyword.disagree, ("KHONG", "DONG", "Y"): Keyword.disagree,
    ("KCK",): Keyword.no_publish, ("KHONG", "CONG", "KHAI"): Keyword.no_publish,
    ("HD",): Keyword.help, ("HUONG", "DAN"): Keyword.help, ("TRO", "GIUP"): Keyword.help, ("HELP",): Keyword.help,
    ("HUY",): Keyword.stop, ("STOP",): Keyword.stop,
    ("DK",): Keyword.start, ("DANG", "KY"): Keyword.start, ("START",): Keyword.start,
}
WHOLE_MESSAGE_ONLY = frozenset({Keyword.help, Keyword.stop, Keyword.start})  # "Huy" is also a given name
NEEDS_CODE = frozenset({Keyword.supplement, Keyword.rate, Keyword.disagree, Keyword.no_publish})
_CODE_LIKE = re.compile(r"^(?:PAKN\s*[:#]?\s*)?\d[\d\s.\-]*", re.IGNORECASE)
_PUNCT = ":.,;#-!?"
MIN_FREE_TEXT = 15  # shorter free text is answered with help instead of opening a case


@dataclass(frozen=True)
class Command:
    """A parsed SMS: the keyword, the code as typed (if any) and the rest of the text."""

    keyword: Keyword
    code: str | None = None
    text: str = ""
    explicit: bool = False  # the keyword was written (False: free text)
    too_short: bool = False  # free text too short to be a PAKN (answered with help)


def _split_keyword(body: str) -> tuple[Keyword | None, str]:
    words = body.split()
    folded = [fold(w).upper().strip(_PUNCT) for w in words[:3]]
    for size in (3, 2, 1):
        keyword = ALIASES.get(tuple(folded[:size])) if len(folded) >= size else None
        if keyword:
            return keyword, " ".join(words[size:])
    glued = re.match(r"^(TC|BS|DG|KDY|KCK|PA)[:#.\-]?(\d.*)$", fold(words[0]).upper()) if words else None
    if glued:  # "TC260000019": keyword typed without a space
        return Keyword(glued.group(1)), glued.group(2) + body[len(words[0]):]
    return None, body


def split_code(rest: str) -> tuple[str | None, str]:
    """Split a leading PAKN code (any accepted spelling) from the text after it.

    "BS 26-000001-9 2 anh nua": the longest run of leading tokens that is a valid code
    wins, so a number that starts the text is not swallowed. With no valid prefix the
    whole code-like run is returned, for the caller to report as mistyped.
    """
    match = _CODE_LIKE.match(rest)
    if not match:
        return None, rest
    tokens = list(re.finditer(r"\S+", match.group(0)))
    for size in range(len(tokens), 0, -1):
        end = tokens[size - 1].end()
        try:
            parse(rest[:end])
        except CodeError:
            continue
        return rest[:end].strip(), rest[end:].strip()
    return match.group(0).strip(), rest[match.end():].strip()


def _is_code(text: str) -> bool:
    try:
        parse(text)
    except CodeError:
        return False
    return True


def parse_command(body: str) -> Command:
    """The command grammar of 8088: case- and diacritic-insensitive, first word(s) only."""
    text = clean_block(body or "")
    if not text:
        return Command(Keyword.help)
    keyword, rest = _split_keyword(text)
    if keyword in WHOLE_MESSAGE_ONLY and not rest.strip(_PUNCT + " "):
        return Command(keyword, explicit=True)
    if keyword is Keyword.status:
        code, after = split_code(rest)
        if code is not None or not rest.strip():
            return Command(keyword, code=code, text=after if code else "", explicit=True)
    if keyword in NEEDS_CODE:
        code, after = split_code(rest)
        if code is not None:
            return Command(keyword, code=code, text=after, explicit=True)
    if keyword is None:
        code, after = split_code(text)
        if code is not None and not after and _is_code(code):  # just a code: the citizen asks for its status
            return Command(Keyword.status, code=code, explicit=True)
    if keyword is Keyword.new:
        return Command(Keyword.new, text=rest.strip(), explicit=True, too_short=len(rest.strip()) < MIN_FREE_TEXT)
    return Command(Keyword.new, text=text, too_short=len(text) < MIN_FREE_TEXT)


# Twilio webhook parameters we store or look up → (required, what they must be, max length)
INBOUND_PARAMS: dict[str, tuple[bool, str, int]] = {
    "MessageSid": (True, "identifier", bounds.MAX_MESSAGE_SID),
    "From": (True, "identifier", bounds.MAX_SMS_ADDRESS),
    "To": (False, "identifier", bounds.MAX_SMS_ADDRESS),
    "Body": (False, "text", bounds.MAX_SMS_BODY),
    "NumSegments": (False, "number", 3),
}
STATUS_PARAMS: dict[str, tuple[bool, str, int]] = {
    "MessageSid": (True, "identifier", bounds.MAX_MESSAGE_SID),
    "MessageStatus": (True, "identifier", 20),
    "ErrorCode": (False, "number", 10),
}


def webhook_problem(form: Mapping[str, Any], params: Mapping[str, tuple[bool, str, int]]) -> str | None:
    """Why a (signed) Twilio webhook request is malformed, in English for the log; None if it is fine.

    A valid signature proves who sent the request, not that its fields fit: a MessageSid
    of 500 characters or a Body with a NUL byte is still a bad request (400).
    """
    for name, (required, kind, max_len) in params.items():
        value = str(form.get(name) or "")
        if not value:
            if required:
                return f"{name} is missing"
            continue
        if kind == "identifier":
            problem = bounds.check_identifier(value, max_len=max_len)
        elif kind == "number":
            number = bounds.ascii_int(value) if len(value) <= max_len else None
            problem = bounds.Problem.not_number if number is None else None
        else:
            problem = bounds.check_text(value, max_len=max_len)
        if problem is not None:
            return f"{name}: {problem.value} (at most {max_len} characters)"
    return None


def parse_inbound(form: Mapping[str, Any], remote_addr: str | None = None) -> InboundMessage:
    """Twilio's Messaging webhook parameters → InboundMessage (external id = MessageSid)."""
    return InboundMessage(
        channel=Channel.sms,
        external_id=str(form.get("MessageSid") or form.get("SmsSid") or "") or None,
        fields={"body": form.get("Body", ""), "from": form.get("From", ""), "to": form.get("To", ""),
                "num_segments": form.get("NumSegments", "")},
        remote_addr=remote_addr,
    )


class SmsSender:
    """Sends through Twilio's Messages API (or into a directory when Twilio is not configured)."""

    def __init__(self, *, account_sid: str | None, auth_token: str | None, api_base: str | None,
                 from_number: str, status_callback: str | None, outbox_dir: Path) -> None:
        self.from_number = from_number
        self.status_callback = status_callback
        self.outbox_dir = outbox_dir
        self.client: Client | None = None
        if account_sid and auth_token:
            self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT))
            if api_base:
                self.client.api.base_url = api_base.rstrip("/")

    def send(self, message: OutboundMessage) -> DeliveryResult:
        """Send one SMS; failures come back as a DeliveryResult, never raised."""
        if self.client is None:
            return self._to_file(message)
        try:
            sent = self.client.messages.create(to=message.recipient, from_=self.from_number, body=message.body,
                                                status_callback=self.status_callback)
        except TwilioRestException as exc:
            retryable = exc.status == 429 or exc.status >= 500  # other 4xx: invalid or opted-out number
            return DeliveryResult(ok=False, error=f"Twilio {exc.status}/{exc.code}: {exc.msg}", retryable=retryable)
        except (TwilioException, RequestException, OSError) as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}", retryable=True)
        return DeliveryResult(ok=True, provider_id=sent.sid)

    def find_sent(self, message: OutboundMessage, since: datetime) -> DeliveryResult | None:
        """Look in Twilio's message log for ``message`` created after ``since``."""
        if self.client is None:
            return None
        try:
            recent = self.client.messages.list(to=message.recipient, from_=self.from_number, limit=RECONCILE_LOOKBACK)
        except (TwilioException, RequestException, OSError) as exc:
            return DeliveryResult(ok=False, error=f"cannot check Twilio's log: {exc}", retryable=True)
        earliest = since - RECONCILE_SLACK
        for sent in recent:
            created = sent.date_created
            if sent.body == message.body and (created is None or created >= earliest):
                return DeliveryResult(ok=True, provider_id=sent.sid)
        return None

    def _to_file(self, message: OutboundMessage) -> DeliveryResult:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        sid = "LOCAL" + uuid.uuid4().hex
        path = self.outbox_dir / f"{sid}.json"
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps({"to": message.recipient, "from": self.from_number, "body": message.body},
                                  ensure_ascii=False, indent=1))
        os.replace(tmp, path)
        return DeliveryResult(ok=True, provider_id=sid)
