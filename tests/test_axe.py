"""axe-core on every HTML page of the app, as the role that can open it, on a desktop and a 390 px phone.

The pages come from the app's url_map, so a new page is swept without anyone adding it
here; only non-HTML routes (JSON, feeds, images, PDFs, downloads, APIs) are skipped. A
page with a URL argument needs a sample value in ``samples``: an unknown argument fails
the test, naming the route. Serious and critical violations fail it, listed together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright
from sqlmodel import Session

from config.settings import Settings
from gateway import create_app
from tests.staff_pages import CHROMIUM, DESKTOP_WIDTH, FLAGS, PHONE_WIDTH, ROLES, Seeded, log_in, seed, serve

FAILING_IMPACTS = ("serious", "critical")
NOT_HTML = re.compile(r"(\.json|\.atom|\.png|\.pdf|\.wav|\.mp3|\.ogg|\.<fmt>|\.<[^>]+>)$"
                      r"|^/(api|open311|metrics|static|vb)(/|$)|/files/|/export")


def html_pages(settings: Settings, samples: dict[str, str]) -> tuple[list[str], list[str]]:
    """Every GET route that returns HTML, with its arguments filled in; and the routes lacking a sample."""
    app = create_app(settings)
    pages, missing = [], []
    try:
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in (rule.methods or ()) or NOT_HTML.search(rule.rule):
                continue
            if any(arg not in samples for arg in rule.arguments):
                missing.append(f"{rule.rule} ({rule.endpoint})")
                continue
            with app.test_request_context():
                from flask import url_for

                pages.append(url_for(rule.endpoint, **{a: samples[f"{rule.endpoint}:{a}"]
                                                       if f"{rule.endpoint}:{a}" in samples else samples[a]
                                                       for a in rule.arguments}))
    finally:
        app.extensions["pakn"].engine.dispose()
    return pages, missing


def _samples(seeded: Seeded, settings: Settings) -> dict[str, str]:
    token = seeded.answer_path.rsplit("/", 1)[-1]
    return {
        "case_id": str(seeded.triage.id),
        "agency.case_page:case_id": str(seeded.forwarded.id),
        "hotline.call:case_id": str(seeded.hotline.id),
        "publication.editor:case_id": str(seeded.forwarded.id),
        "token": token,
        "citizen.receipt:token": seeded.forwarded.receipt,
        "code_text": seeded.forwarded.code or "",  # not published: the public 404 page
    }


def _violations(results: Any, impacts: tuple[str, ...] = FAILING_IMPACTS) -> list[str]:
    assert results.response.get("testEngine", {}).get("name") == "axe-core"  # axe really ran on the page
    found = []
    for violation in results.response.get("violations", []):
        if violation.get("impact") in impacts:
            targets = [", ".join(map(str, node.get("target", []))) for node in violation.get("nodes", [])][:4]
            found.append(f"{violation['impact']} {violation['id']}: {violation['help']} @ {targets}")
    return found


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # pages, not storage, are under test
def test_no_serious_or_critical_violations_on_any_page(settings: Settings, db: Session,
                                                       run_worker: Callable[[], None]) -> None:
    live_settings = settings.with_(captcha=True)
    seeded = seed(live_settings, db, run_worker)
    samples = _samples(seeded, live_settings)
    pages, missing = html_pages(live_settings, samples)
    assert not missing, f"add a sample value for these pages' arguments in tests/test_axe.py: {missing}"
    extra = ["/khong-co-trang-nay", "/coordinator/cases/2147480000"]  # the citizen's and staff's 404 pages
    assert "/coordinator/cases/" + str(seeded.triage.id) in pages and "/dev/sms/" in pages
    axe = Axe()
    problems: list[str] = []
    lesser: list[str] = []
    opened_by: dict[str, str] = {}
    with serve(live_settings) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        contexts = {"anonymous": browser.new_context(locale="vi-VN")}
        for role in ROLES:
            contexts[role] = browser.new_context(locale="vi-VN")
            log_in(contexts[role].new_page(), base, role)
        tabs = {name: ctx.new_page() for name, ctx in contexts.items()}
        for path in pages + extra:
            chosen = None
            for name in ("anonymous", *ROLES):  # the first role that may open it; else admin's error page
                response = tabs[name].goto(base + path)
                if response is not None and response.ok and "/staff/login" not in tabs[name].url:
                    chosen = name
                    break
            name = chosen or "admin"
            if chosen is None:
                tabs[name].goto(base + path)
            opened_by[path] = name
            page = tabs[name]
            if "text/html" not in page.evaluate("document.contentType"):
                continue  # a route that answers JSON, audio or a file is not a page
            for width in (DESKTOP_WIDTH, PHONE_WIDTH):
                page.set_viewport_size({"width": width, "height": 900})
                results = axe.run(page)
                problems += [f"{path} as {name} at {width}px: {v}" for v in _violations(results)]
                lesser += [f"{path} as {name} at {width}px: {v}"
                           for v in _violations(results, ("moderate", "minor"))]
        browser.close()
    print("\n".join(["axe, moderate and minor (not failing):", *lesser]))  # shown with -s or on failure
    assert len(opened_by) >= 25, opened_by
    assert opened_by["/coordinator/cases/" + str(seeded.triage.id)] == "coordinator"
    assert opened_by["/hotline/"] == "operator" and opened_by["/admin/webhooks"] == "admin"
    assert not problems, "\n".join(problems)
