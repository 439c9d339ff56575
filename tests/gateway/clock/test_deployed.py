"""The worker as deployed (``python worker.py``, not ``--burst``) fires the clock's tick by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from rq.job import Job
from sqlmodel import Session, col, select

from config.settings import ROOT, Settings
from gateway.clock.calendar import default_calendar, end_of_day, local_date
from gateway.clock.rules import default_rules
from gateway.constants import VN_TZ, CaseStatus
from gateway.dispatch import schedule
from gateway.models import OutboundMessage, ScheduledRun, utcnow
from tests.conftest import SmtpServer
from tests.gateway.clock.kit import make_agency, make_case

CLOCK = next(p for p in schedule.SCHEDULE if p.job == "gateway.clock.jobs.tick")


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "SMTP_", "TWILIO_"))}
    env.update(DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url or "", SMTP_URL=settings.smtp_url or "",
               SECRET_KEY=settings.secret_key, MAIL_FROM=settings.mail_from, PUBLIC_BASE_URL=settings.public_base_url,
               INSTANCE_PATH=str(settings.instance_path), TWILIO_ACCOUNT_SID=settings.twilio_account_sid or "",
               TWILIO_AUTH_TOKEN=settings.twilio_auth_token or "", TWILIO_API_BASE=settings.twilio_api_base or "",
               COORDINATOR_EMAIL="dieuphoi@pakn.example.gov.vn")
    return env


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_running_worker_ticks_the_clock(db: Session, settings: Settings, smtp: SmtpServer,
                                           redis_conn: redis.Redis, tmp_path: Path) -> None:
    calendar, now = default_calendar(), utcnow()
    today = local_date(now)
    ticking = calendar.is_working_day(today) and now.astimezone(VN_TZ).hour >= default_rules().send_from_hour
    agency = make_agency(db)
    case = make_case(db, 1)
    case.status, case.agency_id = CaseStatus.forwarded, agency.id  # forwarded long ago: 7 working days late today
    case.due_at, case.due_sequence = end_of_day(calendar.add_working_days(today, -7)), 1
    db.add(case)
    db.commit()
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=_env(settings), stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        result = None
        while time.monotonic() < deadline and proc.poll() is None:
            claimed = db.exec(select(ScheduledRun.slot).where(ScheduledRun.name == CLOCK.name)).first()
            job_id = f"{CLOCK.name}-{claimed}"
            known = claimed is not None and redis_conn.exists(f"rq:job:{job_id}")
            job = Job.fetch(job_id, connection=redis_conn) if known else None
            if job is not None and job.is_finished:
                result = job.return_value()
                if not ticking or db.exec(select(OutboundMessage).where(
                        col(OutboundMessage.idempotency_key).like(f"case-{case.id}-overdue-%"),
                        col(OutboundMessage.sent_at).is_not(None))).first():
                    break
            db.rollback()
            time.sleep(0.5)
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()
        assert result is not None, (tmp_path / "worker.log").read_text()  # the scheduled job ran, unasked
        assert db.exec(select(ScheduledRun).where(ScheduledRun.name == CLOCK.name)).first() is not None
        if ticking:  # a working day after 08:00 in Vietnam: the update went out, through the dispatcher, by SMTP
            assert result["updates"] == 1 and result["chases"] == 1 and result["digests"] == 1
            update = [m for m in smtp.messages if m["To"] == case.email]
            assert len(update) == 1
            assert "quá hạn trả lời 7 ngày làm việc" in update[0].get_body(("plain",)).get_content()
        else:  # a day off, or before 08:00: the tick ran and did nothing
            assert not any(result.values())
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
