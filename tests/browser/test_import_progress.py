"""A 200,000-row file through the web import, as it runs in production: `salestarget serve`
(gunicorn and a job worker) on a database of its own. The page shows the progress bar moving
to the result while another tab's pages keep answering."""

from __future__ import annotations

import re
import socket
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import screenshot
from tests.processes import fresh_app

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 200_000
PASSWORD = "pw-progress-test-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, server, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert server.poll() is None, server.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def _csv(path):
    with path.open("w", encoding="utf-8") as f:
        f.write("订单号,日期,金额,数量\n")
        for n in range(ROWS):
            f.write(f"W{n:07d},2026-{n % 12 + 1:02d}-{n % 28 + 1:02d},{n % 5000}.{n % 100:02d},{n % 7 + 1}\n")


def _sign_in(context, base):
    page = context.new_page()
    page.goto(f"{base}/")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def test_a_large_import_shows_its_progress_while_other_pages_answer(browser, tmp_path):
    app = fresh_app(tmp_path)
    server = None
    try:
        app.python(
            "from django.contrib.auth import get_user_model\n"
            f"get_user_model().objects.create_superuser('ops', '', {PASSWORD!r})\n"
        )
        big = tmp_path / "orders-2026.csv"
        _csv(big)
        port = _free_port()
        server = app.start("serve", "--port", str(port), "--workers", "2", "--threads", "4")
        _wait_for(port, server)
        base = f"http://127.0.0.1:{port}"
        ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        page = _sign_in(ctx, base)
        other = ctx.new_page()  # the same person's second tab

        page.goto(f"{base}/actuals/import/")
        page.select_option("select[name=kind]", "order")
        page.set_input_files("input[name=file]", str(big))
        page.click("button:has-text('下一步')")
        page.wait_for_selector("select[name=map_external_id]")
        page.click("button[value=preview]")
        page.wait_for_selector(".alert-success", timeout=120_000)
        assert f"读取 {ROWS} 行" in page.locator(".alert-success").inner_text()

        page.click("button[value=confirm]")
        page.wait_for_selector("#import-progress")
        seen, answers, shot = [], [], None
        while "/actuals/batches/" not in page.url:
            try:  # read without waiting: the page may leave for the batch page at any moment
                read = page.evaluate("document.querySelector('[data-rows-read]')?.dataset.rowsRead ?? null")
            except PlaywrightError:  # it left while being read
                read = None
            if read is not None:
                seen.append(int(read))
                if 0 < seen[-1] < ROWS and not shot:
                    try:
                        shot = screenshot(page, "import-progress")
                    except PlaywrightError:  # the import finished while the picture was taken
                        shot = None
            started = time.perf_counter()
            other.goto(f"{base}/actuals/batches/")
            answers.append(time.perf_counter() - started)
            assert other.locator("h1").count() == 1
            # Sampled often: on PostgreSQL the 200,000 rows are read in about two seconds.
            page.wait_for_timeout(100)
            assert len(answers) < 1800, "the import did not finish"
        moving = sorted(set(v for v in seen if 0 < v < ROWS))
        print("rows read as the page showed them:", seen, "other tab (s):", [round(a, 2) for a in answers])
        # The page polls the bar about once a second and PostgreSQL reads the file in about two:
        # one reading between the start and the end shows the bar moving while the import runs.
        assert moving, f"the bar never moved: {seen}"
        assert seen == sorted(seen), "the bar went backwards"
        assert max(answers) < 5, f"the other tab waited {max(answers):.1f} s"
        page.wait_for_load_state("networkidle")
        body = page.locator("main").inner_text()
        assert re.search(r"200,?000", body), body[:500]
        screenshot(page, "import-done")
        ctx.close()
        facts = app.python("from salestarget.actuals.models import Fact\nprint(Fact.objects.count())")
        assert int(facts) == ROWS
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        app.drop()
