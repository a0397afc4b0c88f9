"""Jobs the worker tests queue (importable by worker processes through PYTHONPATH)."""

from __future__ import annotations

import os
import time

from salestarget.jobs import Fail, job


@job(attempts=1)
def record(n: int, path: str, pause: float = 0.0) -> int:
    """Note one run of job ``n`` (one line, appended atomically) and the process that ran it."""
    time.sleep(pause)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{n} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
    return n


FLAKY_RUNS: list[int] = []


@job(attempts=3, backoff=0)
def flaky(fail_times: int) -> int:
    """Fails its first ``fail_times`` runs in this process, then succeeds."""
    FLAKY_RUNS.append(1)
    if len(FLAKY_RUNS) <= fail_times:
        raise RuntimeError(f"run {len(FLAKY_RUNS)} fails")
    return len(FLAKY_RUNS)


@job(attempts=5)
def hopeless() -> None:
    raise Fail("the file is gone")
