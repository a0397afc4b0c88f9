"""The job worker: claims, retries, failures, recovery from dead workers and schedules, in
this process; and, in real processes on their own database, two workers sharing 100 jobs."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from salestarget.jobs import schedules
from salestarget.jobs.models import Schedule, Worker
from salestarget.jobs.worker import JobWorker, drain
from tests.jobs import tasks
from tests.processes import fresh_app


@pytest.fixture(autouse=True)
def _fresh_flaky():
    tasks.FLAKY_RUNS.clear()


def _row(result) -> DBTaskResult:
    return DBTaskResult.objects.get(id=result.id)


def test_a_job_runs_once_and_keeps_its_result(db, tmp_path):
    result = tasks.record.enqueue(7, str(tmp_path / "runs"))
    assert drain() == 1 and drain() == 0
    row = _row(result)
    assert (row.status, row.return_value, len(row.worker_ids)) == (TaskResultStatus.SUCCESSFUL, 7, 1)
    assert (tmp_path / "runs").read_text().split()[0] == "7"
    assert not Worker.objects.exists()  # a stopped worker leaves no row behind


def test_a_failing_job_is_retried_with_its_reason_kept(db):
    result = tasks.flaky.enqueue(2)
    assert drain() == 3
    row = _row(result)
    assert (row.status, row.return_value, len(row.worker_ids)) == (TaskResultStatus.SUCCESSFUL, 3, 3)


def test_the_backoff_doubles_and_the_last_failure_is_recorded(db):
    worker = JobWorker(heartbeat=False, until_idle=True, interval=0)
    result = tasks.flaky.using(queue_name="default").enqueue(5)
    from salestarget.jobs import POLICIES, Policy

    POLICIES[tasks.flaky.module_path] = Policy(attempts=3, backoff=60)
    try:
        before = timezone.now()
        assert worker.run() == 1  # the retry waits a minute: not ready yet
        row = _row(result)
        assert row.status == TaskResultStatus.READY and "run 1 fails" in row.traceback
        assert timedelta(seconds=59) < row.run_after - before < timedelta(seconds=62)
        DBTaskResult.objects.filter(id=row.id).update(run_after=timezone.now())
        JobWorker(heartbeat=False, until_idle=True, interval=0).run()
        row = _row(result)
        assert row.run_after - timezone.now() > timedelta(seconds=110)  # second wait: two minutes
        DBTaskResult.objects.filter(id=row.id).update(run_after=timezone.now())
        drain()
        row = _row(result)
        assert row.status == TaskResultStatus.FAILED and len(row.worker_ids) == 3
        assert row.exception_class_path == "builtins.RuntimeError" and "run 3 fails" in row.traceback
    finally:
        POLICIES[tasks.flaky.module_path] = Policy(attempts=3, backoff=0)


def test_a_failure_retrying_cannot_fix_fails_at_once(db):
    result = tasks.hopeless.enqueue()
    assert drain() == 1
    row = _row(result)
    assert row.status == TaskResultStatus.FAILED and len(row.worker_ids) == 1
    assert row.exception_class_path == "salestarget.jobs.Fail" and "the file is gone" in row.traceback


def test_a_job_whose_code_is_gone_fails_without_retries(db):
    result = tasks.record.enqueue(1, "/dev/null")
    DBTaskResult.objects.filter(id=result.id).update(task_path="tests.jobs.tasks.removed_long_ago")
    drain()
    assert _row(result).status == TaskResultStatus.FAILED


def _dead_worker_holding(job_id, *, pid: int, host: str | None = None, seen=None) -> Worker:
    import socket

    now = timezone.now()
    DBTaskResult.objects.filter(id=job_id).update(status=TaskResultStatus.RUNNING, worker_ids=["gone"])
    return Worker.objects.create(
        name="gone",
        host=host or socket.gethostname(),
        pid=pid,
        started_at=now,
        seen_at=seen or now,
        job_id=job_id,
    )


def _pid_of_a_finished_process() -> int:
    import subprocess

    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_the_job_of_a_dead_worker_goes_back_to_the_queue(db):
    result = tasks.flaky.enqueue(0)  # three attempts
    _dead_worker_holding(result.id, pid=_pid_of_a_finished_process())
    assert drain() == 1
    row = _row(result)
    assert row.status == TaskResultStatus.SUCCESSFUL and len(row.worker_ids) == 2
    assert not Worker.objects.filter(name="gone").exists()


def test_a_live_worker_keeps_its_job(db, tmp_path):
    result = tasks.record.enqueue(3, str(tmp_path / "runs"))
    _dead_worker_holding(result.id, pid=os.getpid())  # this very process: alive
    assert drain() == 0 and _row(result).status == TaskResultStatus.RUNNING


def test_a_worker_on_another_host_is_dead_once_its_lease_is_over(db):
    result = tasks.flaky.enqueue(0)
    w = _dead_worker_holding(result.id, pid=1, host="elsewhere", seen=timezone.now() - timedelta(seconds=100))
    assert JobWorker(heartbeat=False, until_idle=True, lease=300).run() == 0
    Worker.objects.filter(pk=w.pk).update(seen_at=timezone.now() - timedelta(seconds=301))
    assert JobWorker(heartbeat=False, until_idle=True, lease=300).run() == 1


def test_a_dead_workers_job_on_its_last_attempt_fails_with_the_reason(db):
    result = tasks.record.enqueue(3, "/dev/null")  # attempts=1
    _dead_worker_holding(result.id, pid=_pid_of_a_finished_process())
    drain()
    row = _row(result)
    assert row.status == TaskResultStatus.FAILED and row.exception_class_path.endswith("WorkerLost")


def test_a_due_schedule_is_queued_once_however_many_workers_look(db):
    from salestarget.actuals.tasks import sweep_uploads

    schedules.discover()
    schedules.sync()
    name = sweep_uploads.module_path
    Schedule.objects.filter(name=name).update(next_run_at=timezone.now() - timedelta(seconds=1))
    assert schedules.enqueue_due() == 1
    assert schedules.enqueue_due() == 0
    assert DBTaskResult.objects.filter(task_path=name).count() == 1
    assert Schedule.objects.get(name=name).next_run_at > timezone.now() + timedelta(hours=5)


def _runs(path) -> list[tuple[int, int]]:
    return [tuple(map(int, line.split())) for line in path.read_text().splitlines()]


@pytest.mark.django_db(transaction=True)
def test_two_workers_started_together_run_each_of_100_jobs_once(tmp_path):
    app = fresh_app(tmp_path)
    try:
        runs = tmp_path / "runs"
        app.python(
            "from tests.jobs.tasks import record\n"
            f"for n in range(100): record.enqueue(n, {str(runs)!r}, 0.02)\n"
        )
        workers = [app.start("worker", "--once", "--name", f"w{i}") for i in (1, 2)]
        for w in workers:
            assert w.wait(timeout=120) == 0, w.stdout.read()
        done = _runs(runs)
        assert sorted(n for n, _pid in done) == list(range(100))
        by_worker = {pid for _n, pid in done}
        assert by_worker == {w.pid for w in workers}, "both workers took jobs"
        statuses = app.python(
            "from django_tasks_db.models import DBTaskResult\n"
            "print(sorted(set(DBTaskResult.objects.values_list('status', flat=True))),"
            " DBTaskResult.objects.count(), max(len(r) for r in DBTaskResult.objects.values_list('worker_ids', flat=True)))"
        )
        assert statuses.strip() == "['SUCCESSFUL'] 100 1"
    finally:
        app.drop()


@pytest.mark.django_db(transaction=True)
def test_a_worker_stopped_politely_finishes_its_job_and_leaves(tmp_path):
    app = fresh_app(tmp_path)
    try:
        runs = tmp_path / "runs"
        app.python(f"from tests.jobs.tasks import record\nrecord.enqueue(1, {str(runs)!r}, 2.0)\n")
        worker = app.start("worker", "--name", "polite")
        deadline = time.time() + 60
        while "RUNNING" not in app.python(
            "from django_tasks_db.models import DBTaskResult\nprint(*DBTaskResult.objects.values_list('status', flat=True))"
        ):
            assert time.time() < deadline
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
        assert _runs(runs)[0][0] == 1
        left = app.python("from salestarget.jobs.models import Worker\nprint(Worker.objects.count())")
        assert left.strip() == "0"
    finally:
        app.drop()


def test_the_jobs_command_shows_a_failed_job_with_its_reason(db, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.LANGUAGE_CODE = "en"
    tasks.hopeless.enqueue()
    drain()
    out = StringIO()
    call_command("jobs", stdout=out)
    text = out.getvalue()
    assert "Workers: 0" in text and "1 failed" in text
    assert "tests.jobs.tasks.hopeless" in text and "the file is gone" in text
