"""An import run by a worker process that is killed half-way: nothing is written, and the
next worker imports every row exactly once."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.processes import fresh_app

ROWS = 200_000

QUEUE = """
from django.core.files import File
from salestarget.accounts.management.commands.createadmin import create_admin
from salestarget.actuals.uploads import do_queue_import, do_store_upload
admin, _pw = create_admin()
with open({path!r}, "rb") as f:
    upload = do_store_upload(admin, File(f, name="big.csv"), kind="order", source="erp")
upload = do_queue_import(admin, upload, {{"mapping": {{}}, "unit": "yuan"}}, dry_run=False)
print(upload.pk, upload.job_id)
"""

STATE = """
from django.db.models import Count, Sum
from django_tasks_db.models import DBTaskResult
from salestarget.actuals.models import Fact, ImportBatch, Upload
from salestarget.actuals.rollups import verify
job = DBTaskResult.objects.get(task_path="salestarget.actuals.tasks.run_upload")
upload = Upload.objects.get()
print(json.dumps({{
    "facts": Fact.objects.count(),
    "keys": Fact.objects.values("external_id").distinct().count(),
    "amount": Fact.objects.aggregate(s=Sum("amount"))["s"],
    "batches": list(ImportBatch.objects.values_list("status", flat=True)),
    "job": job.status, "attempts": len(job.worker_ids),
    "upload": upload.status, "upload_batch": upload.batch_id,
    "rollups_ok": not verify(),
}}))
"""


def _csv(path):
    with path.open("w", encoding="utf-8") as f:
        f.write("单号,日期,金额\n")
        for n in range(ROWS):
            f.write(f"K{n:07d},2025-{n % 12 + 1:02d}-{n % 28 + 1:02d},{n % 1000}.{n % 100:02d}\n")
    return sum(n % 1000 * 100 + n % 100 for n in range(ROWS))


def _progress(app, job_id) -> int:
    path = app.home / "jobs" / f"{job_id}.json"
    try:
        return json.loads(path.read_text())["done"]
    except (FileNotFoundError, ValueError):
        return 0


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_writes_nothing_and_the_next_imports_every_row_once(tmp_path):
    app = fresh_app(tmp_path)
    try:
        big = tmp_path / "big.csv"
        expected = _csv(big)
        _pk, job_id = app.python(QUEUE.format(path=str(big))).split()
        first = app.start("worker", "--name", "first")
        deadline = time.time() + 120
        while _progress(app, job_id) < ROWS // 4:
            assert first.poll() is None, first.stdout.read()
            assert time.time() < deadline, "the import did not start"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        state = json.loads(app.python("import json\n" + STATE.format()))
        assert state["facts"] == 0 and state["batches"] == [] and state["job"] == "RUNNING"

        second = app.start("worker", "--once", "--name", "second")
        assert second.wait(timeout=300) == 0, second.stdout.read()
        state = json.loads(app.python("import json\n" + STATE.format()))
        assert state == {
            "facts": ROWS,
            "keys": ROWS,
            "amount": expected,
            "batches": ["applied"],
            "job": "SUCCESSFUL",
            "attempts": 2,
            "upload": "done",
            "upload_batch": state["upload_batch"],
            "rollups_ok": True,
        }
    finally:
        app.drop()
