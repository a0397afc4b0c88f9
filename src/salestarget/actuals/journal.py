"""What an import created or changed in master data, so that the batch can be rolled back.

Master imports write through ordinary model saves (a tree node recomputes its path, a person's
move closes one membership and opens another).  Rather than teach every write path to log
itself, the import runs inside ``recording()``, and Django's save signals note each saved row's
values before and after.  A context variable marks the recording, so saves made by other
requests at the same time are never mixed in.

Fact imports are recorded too, for the people, products, customers and regions they create
on the way (bulk-created ones through ``note_created``).

``undo`` replays the record backwards and never silently overwrites later work: a master batch
refuses, changing nothing, when a record has been edited since or is used by data added since;
a fact batch keeps such records and names them. Facts are not in the record: the import
re-booked them to the units of the memberships it wrote, and the rollback re-books them to
those it restores.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django.apps import apps
from django.db import router, transaction
from django.db.models import ProtectedError, QuerySet
from django.db.models.deletion import Collector
from django.db.models.signals import post_save, pre_save
from django.utils.translation import gettext_noop

from salestarget.actuals import rollups
from salestarget.actuals.models import ImportBatch, MasterChange
from salestarget.actuals.parsing import Problem
from salestarget.catalog.models import Customer, Product, Region, Segment
from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment

JOURNALED = (OrgUnit, Region, Product, Person, Membership, TerritoryAssignment, Segment, Customer)
# Tree paths follow from the parent; restoring the parent recomputes them.
DERIVED = frozenset({"path", "depth"})
# Fields accepted as keys but never shown (the national id): pages and error reports mask them.
SECRET = frozenset({"national_id"})


def masked(value) -> str:
    """A secret value as a page or an error report may show it: its last four characters."""
    text = "" if value is None else str(value).strip()
    return "*" * max(len(text) - 4, 0) + text[-4:]


class _Journal:
    def __init__(self) -> None:
        self.before: dict[tuple[str, int], dict | None] = {}
        self.entries: dict[tuple[str, int], dict] = {}

    def changes(self, batch: ImportBatch) -> list[MasterChange]:
        return [
            MasterChange(batch=batch, model=label, object_id=pk, **entry)
            for (label, pk), entry in self.entries.items()
            if entry["created"] or entry["before"] != entry["after"]
        ]


_current: ContextVar[_Journal | None] = ContextVar("master_journal", default=None)


@contextmanager
def recording():
    """Note every save of a master-data record made inside the block."""
    journal = _Journal()
    token = _current.set(journal)
    try:
        yield journal
    finally:
        _current.reset(token)


def _fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in DERIVED]


def _json(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _values(instance) -> dict:
    return {f.attname: _json(f.value_from_object(instance)) for f in _fields(type(instance))}


def _stored(model, pk) -> dict | None:
    row = model._default_manager.filter(pk=pk).values(*(f.attname for f in _fields(model))).first()
    return None if row is None else {k: _json(v) for k, v in row.items()}


def _before_save(sender, instance, raw=False, **kwargs) -> None:
    journal = _current.get()
    if journal is None or sender not in JOURNALED or instance.pk is None:
        return
    key = (sender._meta.label_lower, instance.pk)
    if key not in journal.entries and key not in journal.before:
        journal.before[key] = _stored(sender, instance.pk)


def _after_save(sender, instance, created, raw=False, **kwargs) -> None:
    journal = _current.get()
    if journal is None or sender not in JOURNALED:
        return
    key = (sender._meta.label_lower, instance.pk)
    entry = journal.entries.get(key)
    if entry is None:
        before = None if created else journal.before.pop(key, None)
        entry = journal.entries[key] = {"created": before is None, "before": before or {}}
    entry["after"] = _values(instance)


def note_created(objs) -> None:
    """Records a recorded import made in bulk, which sends no save signals."""
    journal = _current.get()
    if journal is None:
        return
    for obj in objs:
        journal.entries[(obj._meta.label_lower, obj.pk)] = {
            "created": True,
            "before": {},
            "after": _values(obj),
        }


def connect() -> None:
    """Called once from the app's ready()."""
    pre_save.connect(_before_save, dispatch_uid="actuals.journal.before")
    post_save.connect(_after_save, dispatch_uid="actuals.journal.after")


def can_undo(batch: ImportBatch) -> bool:
    """Batches imported before the journal existed have no record to replay."""
    return batch.source == "master" and bool(batch.options.get("journal"))


@transaction.atomic
def undo(batch: ImportBatch, *, keep_in_use: bool = False) -> list[str]:
    """Put back what the batch created or changed, newest first.

    A master batch is all or nothing: a record edited or put to use since raises Problem and
    nothing changes.  A fact batch's facts are gone before this runs; the records it created on
    the way (--create-missing, a rep's new customer) are removed too, except those in use or
    edited since, which ``keep_in_use`` keeps.  Returns the kept records' labels.
    """
    kept = []
    moved: dict[int, tuple[str, str | None]] = {}
    for change in batch.master_changes.order_by("-pk"):
        model = apps.get_model(change.model)
        if model is Membership:
            _note_span(moved, change.before)
            _note_span(moved, change.after)
        obj = model._default_manager.filter(pk=change.object_id).first()
        if obj is None:
            if change.created:
                continue  # removed since: nothing left to undo
            raise Problem(
                gettext_noop("%(record)s no longer exists, so this import cannot be rolled back."),
                record=f"{model._meta.verbose_name} #{change.object_id}",
            )
        now = _values(obj)
        edited = next((a for a, value in change.after.items() if now.get(a) != value), None)
        if change.created and keep_in_use and (edited or _in_use(obj)):
            kept.append(_label(obj))
            continue
        if edited:
            raise Problem(
                gettext_noop(
                    "%(record)s was changed after this import (%(field)s is now %(value)s): "
                    "the rollback would overwrite that. Change it back by hand instead."
                ),
                record=_label(obj),
                field=_field_label(model, edited),
                value="" if now.get(edited) is None else now.get(edited),
            )
        if change.created:
            if _in_use(obj):
                raise Problem(
                    gettext_noop(
                        "%(record)s was created by this import and is used by data added since "
                        "(facts, targets or other records): roll those back first."
                    ),
                    record=_label(obj),
                )
            obj.delete()
        else:
            for field in _fields(model):
                if field.attname in change.before:
                    setattr(obj, field.attname, field.to_python(change.before[field.attname]))
            obj.save()
    for person_id, (start, end) in sorted(moved.items()):
        rollups.restamp(person_id, dt.date.fromisoformat(start), end and dt.date.fromisoformat(end))
    return kept


def _note_span(spans: dict[int, tuple[str, str | None]], values: dict) -> None:
    """Widen the person's span of days to the membership's (ISO dates compare as text)."""
    if not values:
        return
    person_id, start, end = values["person_id"], values["valid_from"], values["valid_to"]
    if person_id in spans:
        first, last = spans[person_id]
        start = min(start, first)
        end = None if end is None or last is None else max(end, last)
    spans[person_id] = (start, end)


def _in_use(obj) -> bool:
    """Whether deleting ``obj`` would be refused (PROTECT) or take anything else with it.

    Newer records of the same batch are gone by now (undo runs newest first), so anything a
    delete would cascade to, such as a daily report filed since, was added by someone else.
    """
    collector = Collector(using=router.db_for_write(type(obj)))
    try:
        collector.collect([obj])
    except ProtectedError:
        return True
    others = sum(len(objs) for objs in collector.data.values()) - 1
    # SET_NULL relations (a customer's owner) would lose their link silently.
    nulled = (objs for batches in collector.field_updates.values() for objs in batches)
    return (
        others > 0
        or any(qs.exists() for qs in collector.fast_deletes)
        or any(objs.exists() if isinstance(objs, QuerySet) else bool(objs) for objs in nulled)
    )


def describe(batch: ImportBatch, limit: int = 200) -> list[dict]:
    """The batch's changes for its page: the record, and each changed field before and after."""
    out = []
    for change in batch.master_changes.all()[:limit]:
        model = apps.get_model(change.model)
        obj = model._default_manager.filter(pk=change.object_id).first()
        fields = []
        for field in _fields(model):
            old, new = change.before.get(field.attname), change.after.get(field.attname)
            if change.created or old != new:
                if change.created and new in (None, ""):
                    continue
                if field.name in SECRET:
                    # A key for imports only, never shown: the page says it changed.
                    old, new = masked(old or ""), masked(new or "")
                fields.append((str(field.verbose_name), _shown(field, old), _shown(field, new)))
        out.append(
            {
                "record": _label(obj) if obj else f"{model._meta.verbose_name} #{change.object_id}",
                "created": change.created,
                "fields": fields,
            }
        )
    return out


def _shown(field, value) -> str:
    if value is None or value == "":
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        related = field.related_model._default_manager.filter(pk=value).first()
        return getattr(related, "code", None) or str(related) if related else f"#{value}"
    return str(value)


def _label(obj) -> str:
    code = getattr(obj, "code", None)
    name = getattr(obj, "name", None) or str(obj)
    return f"{obj._meta.verbose_name} {code} {name}" if code else f"{obj._meta.verbose_name} {name}"


def _field_label(model, attname: str) -> str:
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return str(field.verbose_name)
    return attname
