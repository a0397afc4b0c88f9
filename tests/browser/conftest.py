"""Playwright driving Debian's chromium (/usr/bin/chromium); never `playwright install`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("SALESTARGET_ARTIFACTS", "test-artifacts"))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page_for(browser, live_server):
    """A new page signed in as ``username``, Chinese first, at a phone or desktop size."""
    contexts = []

    def _page(username: str, password: str, *, phone: bool = False):
        viewport = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}
        ctx = browser.new_context(
            locale="zh-CN", viewport=viewport, extra_http_headers={"Accept-Language": "zh-CN"}
        )
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto(f"{live_server.url}/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("main button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    yield _page
    for ctx in contexts:
        ctx.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    db = "pg" if "postgres" in os.environ.get("SALESTARGET_DATABASE_URL", "") else "sqlite"
    path = ARTIFACTS / f"{name}-{db}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def job_worker(live_server):
    """A job worker beside the live server, in this process, on a connection of its own (the
    SQLite test database is a file: tests/conftest.py)."""
    import threading

    from django.db import connections

    from salestarget.jobs.worker import JobWorker

    worker = JobWorker(heartbeat=False, interval=0.2)

    def run():
        try:
            worker.run()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="job-worker", daemon=True)
    thread.start()
    yield worker
    worker.stop()
    thread.join(timeout=30)


@pytest.fixture(autouse=True)
def standard_metrics(transactional_db):
    """The metrics a data migration seeds: a transactional test's flush removes them, and the
    pages read actuals through them (credit rules)."""
    from tests.conftest import seed_standard_metrics

    seed_standard_metrics()
