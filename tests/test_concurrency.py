"""Several real worker processes allocating codes at once never duplicate one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from config.settings import ROOT, Settings
from gateway.codes import parse
from gateway.constants import CaseStatus, Channel
from gateway.models import Case, CodeCounter, Event
from tests.factories import VALID_FIELDS


def _make_cases(db: Session, count: int) -> list[int]:
    rows = [
        Case(channel=Channel.web, full_name=f"Người gửi {i}", name_key=f"nguoi gui {i}", phone="+84912345678",
             address=VALID_FIELDS["address"], title=f"Phản ánh số {i}", content=VALID_FIELDS["content"])
        for i in range(count)
    ]
    db.add_all(rows)
    db.commit()
    return [r.id for r in rows if r.id is not None]


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url or "", SECRET_KEY=settings.secret_key,
               INSTANCE_PATH=str(settings.instance_path), SMTP_URL=settings.smtp_url or "")
    return env


@pytest.mark.slow
def test_worker_processes_allocate_unique_codes(settings: Settings, redis_conn: object, db: Session,
                                                tmp_path: Path) -> None:
    processes, per_process = (4, 500) if settings.database_url.startswith("postgresql") else (2, 100)
    total = processes * per_process
    _make_cases(db, total)  # pending in the database: each process's dispatcher claims its share
    logs = [open(tmp_path / f"worker-{i}.log", "wb") for i in range(processes)]
    workers = [subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "--burst"], cwd=ROOT, env=_env(settings),
                                stdout=log, stderr=subprocess.STDOUT) for log in logs]
    codes = [w.wait(timeout=600) for w in workers]
    for log in logs:
        log.close()
    outputs = [(tmp_path / f"worker-{i}.log").read_text() for i in range(processes)]
    assert codes == [0] * processes, [out[-2000:] for out in outputs]
    assert all(out.count("Job OK") > 0 for out in outputs)  # every process really took part

    coded = select(func.count()).select_from(Case).where(col(Case.code).is_not(None))
    assert db.exec(coded).one() == total
    all_codes = db.exec(select(Case.code)).all()
    assert len(set(all_codes)) == total and None not in all_codes
    sequences = sorted(parse(c or "").seq for c in all_codes)
    assert sequences == list(range(1, total + 1))  # unique and without gaps
    assert db.exec(select(CodeCounter.value)).one() == total
    count = select(func.count()).select_from(Event)
    registrations = db.exec(count.where(Event.to_status == CaseStatus.registered)).one()
    assert registrations == total
