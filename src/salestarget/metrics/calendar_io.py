"""The working calendar as people write it: one day per line, ``date,kind,name``
(``2027-01-01,holiday,元旦``), typed into the settings page, or a CSV/XLSX file with the same
columns (an optional header row is skipped). Reading only: what the lines mean and whether they
are right is checked by ``metrics.services.do_set_calendar_year``, which names each wrong line.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from salestarget.core.errors import DomainError

# One day: (date or its text, kind as written, name); the line it came from goes alongside.
Day = tuple[object, str, str]

_SEPARATORS = re.compile(r"\s*[,，\t;；]\s*")
_HEADER_WORDS = {"date", "日期"}


def parse_text(text: str) -> tuple[list[Day], list[int]]:
    """The days of a text (blank lines and lines starting with # are skipped) and their line
    numbers."""
    days: list[Day] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = _SEPARATORS.split(line, maxsplit=2)
        if not days and cells[0].strip().lstrip("\ufeff").lower() in _HEADER_WORDS:
            continue
        days.append(_day(cells))
        lines.append(number)
    return days, lines


def read_file(path: str | Path) -> tuple[list[Day], list[int]]:
    """The days of a CSV or Excel file (actuals.parsing.open_table: encodings, Excel dates) and
    the row numbers Excel shows."""
    from salestarget.actuals.parsing import Problem, open_table

    days: list[Day] = []
    lines: list[int] = []
    try:
        with open_table(path) as table:
            rows = table.rows()
            first = list(table.headers)
            if first and first[0].strip().lower() not in _HEADER_WORDS:
                # No header: the first line is a day already.
                rows = [(table.header_row, first), *rows]
            for number, cells in rows:
                cells = ["" if c is None else c for c in cells]
                if not any(str(c).strip() for c in cells):
                    continue
                days.append(_day(cells))
                lines.append(number)
    except Problem as exc:
        raise DomainError(str(exc)) from None
    return days, lines


def _day(cells: list) -> Day:
    cells = [*cells, "", "", ""][:3]
    when = cells[0]
    if isinstance(when, dt.datetime):
        when = when.date()
    elif not isinstance(when, dt.date):
        when = str(when).strip().lstrip("\ufeff")
        if when.endswith(" 00:00:00"):  # an Excel date read as the header's text
            when = when[: -len(" 00:00:00")]
    return when, str(cells[1]).strip(), str(cells[2]).strip()


def to_text(days) -> str:
    """Lines for the edit box: ``date,kind,name`` of (date, kind, name) triples or entries."""
    out = []
    for day in days:
        date, kind, name = (day.date, day.kind, day.name) if hasattr(day, "kind") else day
        out.append(f"{date.isoformat()},{kind},{name}")
    return "\n".join(out)
