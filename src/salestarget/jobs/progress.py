"""Progress of a running job, readable while the job's own transaction is still open.

An import writes its rows in one transaction, and on SQLite that transaction holds the
database's only write lock until it commits: progress written to the database by the job
would wait for the job itself. So each job's progress is a small JSON file in the data
directory (``SALESTARGET_JOBS_DIR``), replaced atomically a few times a second; pages read it
and the database holds what lasts (the job's status, its result). Several machines on
PostgreSQL share the data directory anyway, for the uploaded files the jobs read.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from django.conf import settings

INTERVAL = 0.5  # seconds between two writes of the same job's progress


def _path(job_id) -> Path:
    return Path(settings.SALESTARGET_JOBS_DIR) / f"{job_id}.json"


class Progress:
    """Counts for one job: units done out of a total (an estimate where the total is not known
    before the end), errors so far, and a short phase name; ``rate`` and ``left`` are derived."""

    def __init__(self, job_id, *, total: int | None = None, unit: str = "rows"):
        self.job_id = str(job_id)
        self.total, self.unit = total, unit
        self.done = self.errors = 0
        self.phase = ""
        self.started = time.time()
        self._written = 0.0

    def update(
        self, done: int, *, errors: int | None = None, total: int | None = None, phase: str = ""
    ) -> None:
        self.done = done
        if errors is not None:
            self.errors = errors
        if total is not None:
            self.total = total
        if phase:
            self.phase = phase
        now = time.monotonic()
        if now - self._written >= INTERVAL:
            self._written = now
            self.write()

    def write(self) -> None:
        path = _path(self.job_id)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.state()))
        os.replace(tmp, path)

    def state(self) -> dict:
        elapsed = max(time.time() - self.started, 1e-6)
        rate = self.done / elapsed
        total = max(self.total or 0, self.done) or None
        left = (total - self.done) / rate if total and rate > 0 else None
        return {
            "done": self.done,
            "total": total,
            "errors": self.errors,
            "unit": self.unit,
            "phase": self.phase,
            "rate": round(rate, 1),
            "elapsed": round(elapsed, 1),
            "left": None if left is None else round(left, 1),
            "percent": None if not total else min(100, int(100 * self.done / total)),
        }


def read(job_id) -> dict | None:
    try:
        return json.loads(_path(job_id).read_text())
    except (FileNotFoundError, ValueError):
        return None


def clear(job_id) -> None:
    _path(job_id).unlink(missing_ok=True)
