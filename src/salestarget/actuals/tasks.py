"""Background jobs of the actuals app (see salestarget.jobs)."""

from __future__ import annotations

from datetime import timedelta

from salestarget.jobs import job
from salestarget.jobs.schedules import periodic


@job(attempts=3, backoff=10, context=True)
def run_upload(context, upload_id: int) -> dict:
    """Check or import a stored upload. Safe to run again: an import that committed has marked
    its upload, so a second run finds it done."""
    from salestarget.actuals import uploads

    return uploads.run(upload_id, context.task_result.id)


@periodic(every=timedelta(hours=6))
@job(attempts=1)
def sweep_uploads() -> int:
    """Uploads nobody imported, and old imports' files, leave the data directory."""
    from salestarget.actuals import uploads

    return uploads.sweep()
