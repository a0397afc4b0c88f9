"""The web import as a background job: store the upload, queue the check or the import, run
it in the worker with progress, keep the outcome on the upload.

The import itself is the same service the CLI and the API call (``do_import_facts``,
``do_import_master``); this module only moves it out of the request: a million rows take
longer than a request may, and a reload or a second tab must find the same import.
"""

from __future__ import annotations

import re
import shutil
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import get_valid_filename
from django.utils.translation import gettext

from salestarget.actuals.importers import ImportResult
from salestarget.actuals.masters import MASTER_FIELDS
from salestarget.actuals.models import Upload
from salestarget.actuals.parsing import Problem, sheet_parts
from salestarget.actuals.services import do_import_facts, do_import_master, progress_listener
from salestarget.jobs import progress
from salestarget.org.permissions import Action, scope_of

KEEP_UNUSED = timedelta(days=1)  # an upload nobody imported (the browser was closed)
KEEP_FILES = timedelta(days=7)


def upload_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def do_store_upload(
    user, file, *, kind: str, source: str = "", encoding: str = "", sheet: str = ""
) -> Upload:
    """Keep an uploaded file (a Django ``UploadedFile``) under a random folder of the data
    directory, readable by this app only."""
    reach = scope_of(user).reach(Action.IMPORT)
    if reach.nothing or (kind in MASTER_FIELDS and not reach.everything):
        raise PermissionDenied(gettext("You may not import this kind of file."))
    folder = upload_root() / get_random_string(24)
    folder.mkdir(mode=0o700, parents=True)
    name = get_valid_filename(Path(file.name).name) or "upload"
    path = folder / name
    size = 0
    with path.open("wb") as out:
        for chunk in file.chunks():
            out.write(chunk)
            size += len(chunk)
    return Upload.objects.create(
        created_by=user,
        path=str(path),
        filename=file.name[:255],
        size=size,
        kind=kind,
        source=source[:64],
        encoding=encoding or "",
        sheet=sheet or "",
    )


def do_queue_import(user, upload: Upload, options: dict, *, dry_run: bool) -> Upload:
    """Queue the check (``dry_run``) or the import of ``upload`` with the mapping the user
    chose. The job and the upload's new state commit together; a second click on a queued or
    finished import changes nothing."""
    from salestarget.actuals.tasks import run_upload

    with transaction.atomic():
        upload = Upload.objects.restrict(user, Action.IMPORT).select_for_update().get(pk=upload.pk)
        if upload.status in (Upload.Status.QUEUED, Upload.Status.RUNNING, Upload.Status.DONE):
            return upload
        upload.options = options
        upload.dry_run = dry_run
        upload.status = Upload.Status.QUEUED
        upload.result = {}
        upload.job_id = run_upload.enqueue(upload.pk).id
        upload.save(update_fields=["options", "dry_run", "status", "result", "job_id"])
    return upload


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension ref=\"[A-Z]+\d+:[A-Z]+(\d+)\"")


def estimated_rows(path: Path, sheet: str = "") -> int | None:
    """About how many data rows a file holds, for the progress bar's total: the line breaks of
    a CSV (a quoted line break makes it a little high), the dimension an .xlsx sheet states in
    its first bytes (none for .xls). Reads a bounded amount and trusts nothing: the import
    itself checks the file."""
    try:
        with path.open("rb") as f:
            magic = f.read(8)
            if magic.startswith(b"\xd0\xcf\x11\xe0"):
                return None
            if magic.startswith(b"PK"):
                with zipfile.ZipFile(path) as z:
                    parts = sheet_parts(z, sheet or None)
                    if not parts:
                        return None
                    with z.open(parts[0][1]) as part:
                        found = _DIMENSION.search(part.read(4096))
                    return max(int(found.group(1)) - 1, 0) if found else None
            f.seek(0)
            lines = 0
            while chunk := f.read(1 << 20):
                lines += chunk.count(b"\n")
            return max(lines - 1, 0)
    except (OSError, ValueError, zipfile.BadZipFile, Problem):
        return None


def run(upload_id: int, job_id) -> dict:
    """The job's body: run the import the upload asks for, reporting progress; the outcome
    goes on the upload (a check's errors and preview) or its batch (an import)."""
    upload = Upload.objects.select_related("created_by").get(pk=upload_id)
    if upload.batch_id is not None:
        # Imported already: the worker died after the import committed, before the job did.
        Upload.objects.filter(pk=upload.pk).update(status=Upload.Status.DONE)
        return {"batch": upload.batch_id}
    Upload.objects.filter(pk=upload.pk).update(status=Upload.Status.RUNNING)
    path = Path(upload.path)
    bar = progress.Progress(job_id, total=estimated_rows(path, upload.sheet))
    bar.update(0, phase="read")
    token = progress_listener.set(lambda done, errors: bar.update(done, errors=errors))
    options = upload.options
    common = dict(
        mapping=options.get("mapping") or None,
        date_format=options.get("date_format") or None,
        encoding=upload.encoding or None,
        sheet=upload.sheet or None,
        create_missing=bool(options.get("create_missing")),
        dry_run=upload.dry_run,
        filename=upload.filename,
        upload=upload,
    )
    try:
        if upload.kind in MASTER_FIELDS:
            result = do_import_master(
                upload.created_by,
                path,
                upload.kind,
                effective_from=options.get("effective_from") or None,
                **common,
            )
        else:
            result = do_import_facts(
                upload.created_by,
                path,
                upload.kind,
                source=upload.source or "file",
                unit=options.get("unit") or "yuan",
                **common,
            )
    except Problem as problem:
        result = ImportResult(kind=upload.kind, status="rejected", filename=upload.filename)
        result.add_error(None, "", "", problem)
    except PermissionDenied as denied:
        result = ImportResult(kind=upload.kind, status="rejected", filename=upload.filename)
        result.add_error(None, "", "", Problem(str(denied) or gettext("You may not import this file.")))
    finally:
        progress_listener.reset(token)
    bar.update(result.rows_read, errors=result.error_count, phase="done")
    bar.write()
    status = Upload.Status.CHECKED if upload.dry_run else Upload.Status.DONE
    if upload.dry_run or result.batch_id is None:
        status = Upload.Status.CHECKED
    Upload.objects.filter(pk=upload.pk).update(status=status, result=outcome(result))
    return {"batch": result.batch_id, "status": result.status, "rows": result.rows_read}


def outcome(result: ImportResult) -> dict:
    """What the mapping page shows of a check: counts, totals, what would be created, the
    preview rows and the errors as recorded (translated when shown, in the reader's language)."""
    return {
        "ok": result.ok,
        "status": result.status,
        "rows_read": result.rows_read,
        "rows_written": result.rows_written,
        "rows_skipped": result.rows_skipped,
        "amount_total": result.amount_total,
        "created": result.created,
        "preview": result.preview,
        "error_count": result.error_count,
        "errors": result.errors,  # as many as a batch keeps, for the check's error report
        "warnings": result.warnings,
    }


def sweep(now=None) -> int:
    """Remove the files of uploads nobody imported within a day and of imports older than a
    week (the records stay, with their batches)."""
    now = now or timezone.now()
    stale = Upload.objects.filter(
        created_at__lt=now - KEEP_UNUSED,
        status__in=[Upload.Status.UPLOADED, Upload.Status.CHECKED, Upload.Status.FAILED],
    ) | Upload.objects.filter(created_at__lt=now - KEEP_FILES, status=Upload.Status.DONE)
    removed = 0
    for upload in stale.exclude(path=""):
        path = Path(upload.path)
        if path.parent.parent == upload_root():
            shutil.rmtree(path.parent, ignore_errors=True)
        Upload.objects.filter(pk=upload.pk).update(path="")
        if upload.job_id:
            progress.clear(upload.job_id)
        removed += 1
    # Folders without a record (a request that died between the write and the insert).
    limit = time.time() - KEEP_UNUSED.total_seconds()
    known = {Path(p).parent for p in Upload.objects.exclude(path="").values_list("path", flat=True)}
    root = upload_root()
    if root.exists():
        for folder in root.iterdir():
            if folder.is_dir() and folder not in known and folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)
    return removed
