"""The SMTP session kept open between messages, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import os
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels import smtp as smtp_module
from channels.base import OutboundMessage
from channels.email import EmailSender, build
from tests.conftest import SmtpServer


def _message(n: int, to: str = "dan@example.vn") -> OutboundMessage:
    return OutboundMessage(recipient=to, subject=f"PAKN số {n}", body=f"Nội dung {n}",
                           message_id=f"<pakn.{n}@pakn.example.gov.vn>")


@pytest.fixture
def sender(smtp: SmtpServer, tmp_path: Path) -> Iterator[EmailSender]:
    """An email sender pointed at the test's SMTP server."""
    made = EmailSender(smtp.url, "pakn@pakn.example.gov.vn", tmp_path / "outbox")
    yield made
    made.close()


def _connections(smtp: SmtpServer) -> int:
    return len(set(smtp.mailbox.peers))


def test_messages_share_one_connection(sender: EmailSender, smtp: SmtpServer) -> None:
    results = [sender.send(_message(n)) for n in range(5)]
    assert all(r.ok for r in results), results
    assert [m["Subject"] for m in smtp.messages] == [f"PAKN số {n}" for n in range(5)]
    assert _connections(smtp) == 1


def test_a_restarted_server_gets_the_next_message_on_a_new_connection(sender: EmailSender,
                                                                       smtp: SmtpServer) -> None:
    assert sender.send(_message(1)).ok
    smtp.stop()
    smtp.start()  # the kept session is dead now: NOOP finds out before any of the message is sent
    assert sender.send(_message(2)).ok
    assert len(smtp.messages) == 2 and _connections(smtp) == 2


def test_a_server_that_is_down_is_a_retryable_failure_then_delivery_resumes(sender: EmailSender,
                                                                            smtp: SmtpServer) -> None:
    assert sender.send(_message(1)).ok
    smtp.stop()
    failed = sender.send(_message(2))
    assert not failed.ok and failed.retryable and failed.error
    smtp.start()
    assert sender.send(_message(3)).ok
    assert [m["Subject"] for m in smtp.messages] == ["PAKN số 1", "PAKN số 3"]


def test_a_refused_recipient_fails_for_good_and_the_next_message_still_goes(sender: EmailSender,
                                                                            smtp: SmtpServer) -> None:
    smtp.mailbox.refusals["khong-ton-tai@example.vn"] = "550 5.1.1 no such user"
    refused = sender.send(_message(1, to="khong-ton-tai@example.vn"))
    assert not refused.ok and not refused.retryable and "refused" in (refused.error or "")
    assert sender.send(_message(2)).ok
    assert [m["Subject"] for m in smtp.messages] == ["PAKN số 2"]


def test_a_recipient_refused_for_now_is_tried_again(sender: EmailSender, smtp: SmtpServer) -> None:
    smtp.mailbox.refusals["dan@example.vn"] = "450 4.2.0 greylisted, try again later"
    later = sender.send(_message(1))
    assert not later.ok and later.retryable and "450" in (later.error or "")
    del smtp.mailbox.refusals["dan@example.vn"]
    assert sender.send(_message(1)).ok and len(smtp.messages) == 1


def test_a_session_is_renewed_after_its_message_cap(sender: EmailSender, smtp: SmtpServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smtp_module, "MAX_MESSAGES_PER_SESSION", 2)
    assert all(sender.send(_message(n)).ok for n in range(5))
    peers = smtp.mailbox.peers
    assert _connections(smtp) == 3 and peers[0] == peers[1] != peers[2] == peers[3] != peers[4]


def test_an_idle_session_is_not_reused(sender: EmailSender, smtp: SmtpServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smtp_module, "MAX_IDLE_SECONDS", -1.0)  # every session has been idle too long
    assert all(sender.send(_message(n)).ok for n in range(3))
    assert _connections(smtp) == 3


def test_a_forked_child_opens_its_own_session_and_leaves_the_parents_alone(sender: EmailSender,
                                                                           smtp: SmtpServer) -> None:
    assert sender.send(_message(1)).ok
    pid = os.fork()
    if pid == 0:  # the child (RQ's --fork work horse): its own connection, then it exits without QUIT
        sent = sender.send(_message(2)).ok
        sender.close()  # QUITs its own session only
        os._exit(0 if sent else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sender.send(_message(3)).ok
    peers = smtp.mailbox.peers
    assert len(peers) == 3 and peers[0] == peers[2] != peers[1]  # the parent's session survived the child
    assert smtp.mailbox.quits == 1


def test_close_quits_the_session_and_a_later_message_opens_another(sender: EmailSender, smtp: SmtpServer) -> None:
    assert sender.send(_message(1)).ok
    sender.close()
    assert smtp.mailbox.quits == 1
    assert sender.send(_message(2)).ok
    assert _connections(smtp) == 2


def test_a_session_that_timed_out_mid_message_is_not_reused(smtp: SmtpServer) -> None:
    # The late "250" to the first DATA must not be read as the answer to the next command.
    session = smtp_module.SmtpSession(smtp.url, timeout=0.5)
    smtp.mailbox.slow_subjects["chậm"] = 1.5
    slow = build(_message(1), "pakn@pakn.example.gov.vn")
    slow.replace_header("Subject", "chậm")
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        session.send(slow)
    time.sleep(1.5)  # the server has answered the first DATA by now
    assert session.send(build(_message(2), "pakn@pakn.example.gov.vn")) == {}
    session.close()
    assert [m["Subject"] for m in smtp.messages] == ["chậm", "PAKN số 2"]
    assert _connections(smtp) == 2
