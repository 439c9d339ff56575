"""/metrics: protected, Prometheus text, figures from the database and RQ; Redis down is not a 500."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from sqlmodel import Session

from config.settings import Settings
from gateway import create_app
from gateway.constants import CaseStatus, Channel, OutboundStatus
from gateway.models import Agency, OutboundMessage, utcnow
from tests.conftest import free_port
from tests.factories import insert_cases, login, make_staff

TOKEN = "metrics-token-" + "y" * 30


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def data(db: Session) -> None:
    agency = Agency(code="bo-xay-dung", name="Bộ Xây dựng", emails="[]", fields="[]", vcard="")
    db.add(agency)
    db.commit()
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"id": 10, "channel": Channel.web, "status": CaseStatus.forwarded, "created_at": now - timedelta(days=30),
         "agency_id": agency.id, "due_at": now - timedelta(days=10)},
        {"id": 11, "channel": Channel.sms, "status": CaseStatus.forwarded, "created_at": now - timedelta(days=5),
         "agency_id": agency.id, "due_at": now + timedelta(days=15)},
        {"id": 12, "channel": Channel.sms, "status": CaseStatus.received, "created_at": now - timedelta(minutes=5)},
    ]
    insert_cases(db, rows)
    for i, (channel, status) in enumerate([(Channel.sms, OutboundStatus.sent), (Channel.sms, OutboundStatus.failed),
                                           (Channel.email, OutboundStatus.sent)]):
        db.add(OutboundMessage(idempotency_key=f"k{i}", channel=channel, purpose="ack", recipient="x", body="b",
                               status=status))
    db.commit()


def test_metrics_need_a_token_or_a_staff_session(app: Any, client: Any, db: Session, settings: Settings) -> None:
    app.extensions["pakn"].settings = settings.with_(metrics_token=TOKEN)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    make_staff(db, "operator")
    login(client, "operator")
    assert client.get("/metrics").status_code == 403
    client.post("/staff/logout")
    make_staff(db, "coordinator")
    login(client, "coordinator")
    assert client.get("/metrics").status_code == 200
    app.extensions["pakn"].settings = settings  # no token configured: a bearer header opens nothing
    client.post("/staff/logout")
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_metrics_report_intake_deliveries_overdue_and_the_queue(app: Any, client: Any, db: Session,
                                                                settings: Settings, redis_conn: Any) -> None:
    app.extensions["pakn"].settings = settings.with_(metrics_token=TOKEN)
    data(db)
    queue = Queue(settings.queue_name, connection=redis_conn)
    queue.enqueue("worker.process_case", 12)
    time.sleep(1.1)
    client.get("/cong-khai/")  # counted by the in-process request counter
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    got = samples(response.text)
    assert got[("pakn_cases_received_total", (("channel", "sms"),))] == 2
    assert got[("pakn_cases_received_total", (("channel", "web"),))] == 1
    assert got[("pakn_deliveries", (("channel", "sms"), ("outcome", "failed")))] == 1
    assert got[("pakn_deliveries", (("channel", "email"), ("outcome", "sent")))] == 1
    assert got[("pakn_cases_overdue", (("agency", "bo-xay-dung"),))] == 1
    assert got[("pakn_intake_oldest_pending_seconds", ())] >= 300
    assert got[("pakn_database_up", ())] == 1 and got[("pakn_queue_up", ())] == 1
    assert got[("pakn_queue_jobs", (("queue", settings.queue_name), ("state", "queued")))] == 1
    assert got[("pakn_queue_oldest_job_age_seconds", (("queue", settings.queue_name),))] >= 1
    assert got[("pakn_http_requests_total", (("blueprint", "public"), ("status", "2xx")))] >= 1


def test_metrics_answer_when_redis_is_down(settings: Settings, db: Session) -> None:
    dead = settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0", metrics_token=TOKEN)
    app = create_app(dead)
    data(db)
    started = time.monotonic()
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    got = samples(response.text)
    assert got[("pakn_queue_up", ())] == 0 and got[("pakn_database_up", ())] == 1
    assert got[("pakn_cases_received_total", (("channel", "sms"),))] == 2
    app.extensions["pakn"].engine.dispose()


def test_multiprocess_mode_adds_up_the_workers(tmp_path: Any, settings: Settings, db: Session) -> None:
    """Two processes of the app count requests into PROMETHEUS_MULTIPROC_DIR; a third one's /metrics sums them."""
    import os
    import subprocess
    import sys

    from config.settings import ROOT

    path = tmp_path / "multiproc"
    path.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(path), DATABASE_URL=settings.database_url,
               REDIS_URL=settings.redis_url or "", SECRET_KEY=settings.secret_key, METRICS_TOKEN=TOKEN,
               INSTANCE_PATH=str(settings.instance_path))
    worker = ("from gateway import create_app\n"
              "c = create_app().test_client()\n"
              "assert all(c.get('/cong-khai/').status_code == 200 for _ in range(3))\n")
    for _ in range(2):  # two gunicorn workers, each with its own counters
        subprocess.run([sys.executable, "-c", worker], check=True, env=env, cwd=ROOT)
    scrape = ("from gateway import create_app\n"
              f"r = create_app().test_client().get('/metrics', headers={{'Authorization': 'Bearer {TOKEN}'}})\n"
              "print(r.get_data(as_text=True))\n")
    out = subprocess.run([sys.executable, "-c", scrape], check=True, env=env, cwd=ROOT, capture_output=True, text=True)
    got = samples(out.stdout)
    assert got[("pakn_http_requests_total", (("blueprint", "public"), ("status", "2xx")))] == 6
    assert got[("pakn_database_up", ())] == 1
