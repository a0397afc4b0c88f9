"""The worker loop behind ``salestarget worker``.

Built on django-tasks-db's job rows but not on its ``db_worker`` loop, which claims with
``SELECT … FOR UPDATE SKIP LOCKED`` (a no-op on SQLite, hence its exclusive transactions),
leaves a job RUNNING for ever when its worker is killed, and neither retries nor schedules.
Here:

- **Claim** is one conditional ``UPDATE … SET status = RUNNING WHERE id = ? AND status =
  READY``: whichever worker's statement changes the row owns the job, on SQLite (writes
  queue) and PostgreSQL (the loser's UPDATE re-reads the committed row and matches nothing).
- **Liveness**: each worker has a :class:`~salestarget.jobs.models.Worker` row naming the job
  it holds, refreshed by a heartbeat thread. A worker on the same host whose process is gone,
  or any worker not seen for ``lease`` seconds, is dead; the first worker to delete its row
  puts its job back in the queue (the job's own transaction died with the process, so it
  wrote nothing) or, when its attempts are used up, marks it failed.
- **Retries**: a job that raises is queued again after its policy's backoff (doubling), up to
  its attempts; :class:`~salestarget.jobs.Fail` and exhausted attempts mark it failed with
  the reason kept in the row (``exception_class_path``, ``traceback``).
- **Schedules** (jobs/schedules.py) are queued by whichever worker sees them due first.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import traceback
from datetime import timedelta

from django.core.exceptions import SuspiciousOperation
from django.db import OperationalError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks.base import TaskContext, TaskResultStatus
from django_tasks_db.models import DBTaskResult

from salestarget.jobs import Fail, policy_of, schedules
from salestarget.jobs.models import Worker

log = logging.getLogger("salestarget.jobs")

BACKEND = "default"
CANDIDATES = 8  # jobs looked at per claim; losing all of them to other workers just loops again


class WorkerLost(Exception):
    """Recorded as the reason when a job's worker died on its last attempt."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobWorker:
    def __init__(
        self,
        *,
        name: str | None = None,
        queues: tuple[str, ...] = ("default",),
        interval: float = 1.0,
        lease: float = 300.0,
        heartbeat: bool = True,
        until_idle: bool = False,
        max_jobs: int | None = None,
    ):
        self.name = name or f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(6)}"
        self.queues, self.interval, self.lease = list(queues), interval, lease
        self.heartbeat, self.until_idle, self.max_jobs = heartbeat, until_idle, max_jobs
        self.host = socket.gethostname()
        self.running = True
        self.busy = False
        self.ran = 0
        self._stop = threading.Event()

    # --- lifecycle -----------------------------------------------------------------

    def run(self) -> int:
        """Work until stopped (or, with ``until_idle``, until no job is ready); returns the
        number of jobs run."""
        schedules.discover()
        self._register()
        beat = None
        if self.heartbeat:
            beat = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
            beat.start()
        try:
            schedules.sync()
            while self.running:
                if not connection.in_atomic_block:  # drain() inside a caller's transaction keeps it
                    close_old_connections()
                try:
                    self.recover()
                    schedules.enqueue_due()
                    row = self.claim()
                except OperationalError as exc:
                    # SQLite: another worker's import holds the write lock; look again later.
                    if "locked" not in str(exc).lower():
                        raise
                    row = None
                if row is not None:
                    self.execute(row)
                    if self.max_jobs is not None and self.ran >= self.max_jobs:
                        break
                    continue
                if self.until_idle:
                    break
                self._stop.wait(self.interval)
        finally:
            self._stop.set()
            if beat is not None:
                beat.join(timeout=5)
            self._unregister()
        return self.ran

    def stop(self, signum=None, frame=None) -> None:
        if not self.running and self.busy:
            # A second signal: give the job up; its transaction rolls back and _unregister
            # puts it back in the queue.
            raise KeyboardInterrupt
        self.running = False
        self._stop.set()
        if signum is not None:
            log.warning("worker %s: stopping after the current job (signal again to stop now)", self.name)

    def install_signals(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.stop)

    def _register(self) -> None:
        now = timezone.now()
        Worker.objects.update_or_create(
            name=self.name,
            defaults={
                "host": self.host,
                "pid": os.getpid(),
                "started_at": now,
                "seen_at": now,
                "job_id": None,
            },
        )

    def _unregister(self) -> None:
        try:
            with transaction.atomic():
                held = Worker.objects.filter(name=self.name).values_list("job_id", flat=True).first()
                Worker.objects.filter(name=self.name).delete()
                if held:
                    _release(held, "stopped")
        except Exception:  # the database went away: the other workers will recover the job
            log.exception("worker %s: could not unregister", self.name)

    def _beat(self) -> None:
        every = max(1.0, min(30.0, self.lease / 10))
        while not self._stop.wait(every):
            try:
                Worker.objects.filter(name=self.name).update(seen_at=timezone.now())
            except OperationalError:  # SQLite busy with a long import: try again next beat
                pass
            finally:
                connection.close()

    # --- claim, run, recover --------------------------------------------------------

    def claim(self) -> DBTaskResult | None:
        ready = (
            DBTaskResult.objects.ready()
            .filter(backend_name=BACKEND, queue_name__in=self.queues)
            .values_list("id", flat=True)[:CANDIDATES]
        )
        for job_id in list(ready):
            with transaction.atomic():
                now = timezone.now()
                won = DBTaskResult.objects.filter(id=job_id, status=TaskResultStatus.READY).update(
                    status=TaskResultStatus.RUNNING, started_at=now
                )
                if not won:
                    continue
                row = DBTaskResult.objects.get(id=job_id)
                row.worker_ids = [*row.worker_ids, self.name]
                row.save(update_fields=["worker_ids"])
                Worker.objects.filter(name=self.name).update(job_id=job_id, seen_at=now)
                return row
        return None

    def execute(self, row: DBTaskResult) -> None:
        self.busy = True
        attempt = len(row.worker_ids)
        try:
            task = row.task
            args, kwargs = row.args_kwargs["args"], row.args_kwargs["kwargs"]
            log.info("worker %s: job %s %s (attempt %d)", self.name, row.id, row.task_path, attempt)
            if task.takes_context:
                value = task.call(TaskContext(task_result=row.task_result), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
            row.set_successful(value)  # here, so that a result that cannot be stored is a failure
        except (ImportError, SuspiciousOperation) as exc:  # the job's code is gone: no retry helps
            log.error("worker %s: job %s cannot run: %s", self.name, row.id, exc)
            row.set_failed(exc)
        except Exception as exc:
            permanent = isinstance(exc, Fail) or attempt >= policy_of(row.task_path).attempts
            log.warning("worker %s: job %s failed (attempt %d): %s", self.name, row.id, attempt, exc)
            if permanent:
                row.set_failed(exc)
            else:
                _retry(row, exc, policy_of(row.task_path).delay(attempt))
        finally:
            self.busy = False
            self.ran += 1
        Worker.objects.filter(name=self.name).update(job_id=None, seen_at=timezone.now())

    def recover(self) -> int:
        """Put the jobs of dead workers back in the queue (or fail them); returns how many."""
        now = timezone.now()
        recovered = 0
        for w in Worker.objects.exclude(name=self.name):
            gone = w.host == self.host and not _alive(w.pid)
            if not gone and w.seen_at >= now - timedelta(seconds=self.lease):
                continue
            with transaction.atomic():
                if not Worker.objects.filter(name=w.name, seen_at=w.seen_at).delete()[0]:
                    continue  # another worker recovered it first, or it beat meanwhile
                if w.job_id:
                    log.warning(
                        "worker %s: %s is gone; its job %s goes back to the queue", self.name, w, w.job_id
                    )
                    recovered += _release(w.job_id, "lost")
        # Running jobs no live worker holds (their worker row was removed by hand, say).
        held = Worker.objects.exclude(job_id=None).values_list("job_id", flat=True)
        for job_id in DBTaskResult.objects.running().exclude(id__in=held).values_list("id", flat=True):
            with transaction.atomic():
                recovered += _release(job_id, "lost")
        return recovered


def _retry(row: DBTaskResult, exc: BaseException, delay: timedelta) -> None:
    """Queue the job again after ``delay``, keeping why the attempt failed."""
    DBTaskResult.objects.filter(id=row.id, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.READY,
        run_after=timezone.now() + delay,
        exception_class_path=f"{type(exc).__module__}.{type(exc).__qualname__}",
        traceback="".join(traceback.format_exception(exc)),
    )


def _release(job_id, why: str) -> int:
    """A running job whose worker stopped: back in the queue, or failed on its last attempt."""
    row = DBTaskResult.objects.filter(id=job_id, status=TaskResultStatus.RUNNING).first()
    if row is None:
        return 0
    if len(row.worker_ids) >= policy_of(row.task_path).attempts:
        row.set_failed(WorkerLost(f"the worker running this job {why} on attempt {len(row.worker_ids)}"))
    else:
        DBTaskResult.objects.filter(id=job_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, run_after=timezone.now()
        )
    return 1


def drain(**options) -> int:
    """Run every ready job in this process, then return (tests, ``salestarget worker --once``)."""
    return JobWorker(heartbeat=False, until_idle=True, interval=0, **options).run()
