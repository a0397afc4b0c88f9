"""Reading what sales operations actually export.

ERP and CRM exports arrive as CSV in whatever encoding Excel or the ERP chose (UTF-8 with or
without BOM, GBK/GB18030, UTF-16), or as XLSX/XLS; headers are Chinese or English; dates and
amounts follow local habits. This module turns such a file into rows of cells and turns
cells into exact values, without ever loading the whole file and without floats for money.

Every problem is reported as a :class:`Problem`: an English msgid (translated when it is
shown, so a batch reads in the language of whoever opens it) plus its parameters.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import html
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import chain
from pathlib import Path

from django.utils.translation import gettext, gettext_noop

from salestarget import config
from salestarget.engine.rounding import round_half_up

# Every amount, profit and quantity of a fact is within ±10^15 minor units (fen for money, the
# quantity itself for quantities): 10 trillion yuan, and sums of many stay far from 2^63.
MAX_MINOR_UNITS = 10**15
MB = config.MB


def import_limits() -> dict[str, int]:
    """The limits a file must keep (settings.SALESTARGET_IMPORT_LIMITS, see config.IMPORT_LIMITS)."""
    from django.conf import settings

    return {**config.import_limit_defaults(), **getattr(settings, "SALESTARGET_IMPORT_LIMITS", {})}


def _size(n: int) -> str:
    return f"{n / MB:,.0f} MB" if n >= MB else f"{max(1, round(n / 1024)):,} KB"


class Problem(Exception):
    """A problem with the file or a cell: translated when shown, stored untranslated."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return render(self.message, self.params)


def duplicate_key(value: str, first: int, row: int) -> Problem:
    """The one message for a key that a file holds twice (facts and master data alike)."""
    return Problem(
        gettext_noop("The key %(value)s appears twice in the file (rows %(first)s and %(row)s)."),
        value=value,
        first=first,
        row=row,
    )


def render(message: str, params: dict | None = None) -> str:
    text = gettext(message)
    return text % params if params else text


# --- encodings -------------------------------------------------------------------------

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCODING_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "utf-8-bom": "utf-8-sig",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
    "utf-16": "utf-16",
    "utf16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16-le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "utf-16-be": "utf-16-be",
}
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "gb18030": "GBK/GB18030",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16LE",
    "utf-16-be": "UTF-16BE",
}


def normalise_encoding(name: str) -> str:
    """Accept the names people type (gbk, utf8, UTF-8-BOM); GBK is read as its superset GB18030."""
    key = name.strip().lower().replace("_", "-")
    if key in ENCODING_ALIASES:
        return ENCODING_ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise Problem(
            gettext_noop("Unknown encoding %(encoding)s: use utf-8, gbk, gb18030 or utf-16."), encoding=name
        ) from None


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes; an incremental decoder checks ~1 GB/s without parsing."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as f:
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16LE or BE told from the first bytes, or None. A CSV's delimiters, line breaks and
    digits are ASCII, whose UTF-16 code units have a NUL on one side: the odd bytes in
    little-endian, the even ones in big-endian (Chinese text has NULs on neither)."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
    encoding = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(head[: len(head) // 2 * 2])
    except UnicodeDecodeError:
        return None
    return encoding if text and not _CONTROL.search(text) else None


def _first_undecodable(path: Path, encoding: str = "utf-8") -> int | None:
    """The offset of the file's first byte that is not in ``encoding``, or None when all of it is."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as f:
        while True:
            chunk = f.read(1 << 20)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            if not chunk:
                return None
            offset += len(chunk)


def _mostly_utf8(path: Path) -> bool:
    """Whether the file's non-ASCII text is mostly valid UTF-8 (a UTF-8 file with some lines
    pasted from a GBK one) rather than mostly not (a GBK file, some of whose byte pairs happen
    to be valid UTF-8: about one character in twelve)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    valid = bad = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            text = decoder.decode(chunk)
            replaced = text.count("\ufffd")
            bad += replaced
            valid += len(text) - len(text.encode("ascii", "ignore")) - replaced
            if bad >= 1000 and bad > 10 * valid:
                return False
            if valid >= 1000 and valid > 10 * bad:
                return True
    return valid > bad


def _line_of(path: Path, offset: int) -> int:
    line = 1
    with path.open("rb") as f:
        while offset > 0:
            chunk = f.read(min(offset, 1 << 20))
            if not chunk:
                break
            line += chunk.count(b"\n")
            offset -= len(chunk)
    return line


def detect_encoding(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        encoding = _utf16_without_bom(head)
        if encoding is None:
            raise Problem(
                gettext_noop("This is not a text file: it contains binary data. Export it as CSV or XLSX.")
            )
        return encoding
    damage = _first_undecodable(path)
    if damage is None:
        return "utf-8"
    if _mostly_utf8(path):
        # Reading it all as GBK would garble every valid row.
        raise Problem(
            gettext_noop(
                "Line %(line)s is not UTF-8, unlike the rest of the file (it may have been pasted from "
                "a GBK file): save the file as UTF-8, or name its encoding (--encoding)."
            ),
            line=_line_of(path, damage),
        )
    if _decodes(path, "gb18030"):
        return "gb18030"
    raise Problem(
        gettext_noop(
            "Cannot tell the file's encoding: it is neither UTF-8, UTF-16 nor GBK/GB18030. "
            "Save it as “CSV UTF-8” in Excel, or name the encoding (--encoding)."
        )
    )


# --- tables ----------------------------------------------------------------------------


@dataclass
class Table:
    """Rows of a sheet or CSV file after its header; row numbers are the ones Excel shows."""

    format: str
    headers: list[str]
    header_row: int
    encoding: str | None = None
    sheet: str | None = None
    _buffer: list = field(default_factory=list)
    _rest: Iterator | None = None

    def sample(self, n: int) -> list[tuple[int, list]]:
        """The first ``n`` data rows, kept so that ``rows()`` still yields them."""
        while len(self._buffer) < n:
            try:
                self._buffer.append(next(self._rest))
            except StopIteration:
                break
        return self._buffer[:n]

    def rows(self) -> Iterator[tuple[int, list]]:
        buffered, self._buffer = self._buffer, []
        return chain(buffered, self._rest)

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding or "", self.encoding or "")


def _nonempty(cells: list) -> int:
    return sum(1 for c in cells if c is not None and c != "")


def _find_header(records: Iterator[tuple[int, list]]) -> tuple[int, list[str], list]:
    """Skip title lines above the header (“销售明细 2024年11月”): the header is the first of the
    first rows that is at least 60% as wide as the widest of them."""
    head = []
    for record in records:
        head.append(record)
        if len(head) >= 20:
            break
    widths = [_nonempty(cells) for _, cells in head]
    if not widths or max(widths) == 0:
        raise Problem(gettext_noop("The file is empty: there is no header row and no data."))
    width = max(widths)
    at = next(i for i, w in enumerate(widths) if w >= max(1, (width * 3 + 4) // 5))
    number, cells = head[at]
    headers = [_header_text(c) for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    return number, headers, head[at + 1 :]


def _header_text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip().lstrip("\ufeff")


def _dialect(sample: str) -> type[csv.Dialect]:
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=counts.get) if any(counts.values()) else ","

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    Dialect.strict = True
    return Dialect


def _check_lines(path: Path, encoding: str, limit: int) -> None:
    """Before parsing: no line is longer than ``limit`` bytes (reading it would hold it whole in
    memory, however long), and a file in an 8-bit encoding has no NUL byte (no database keeps one
    in text). Reads blocks of at most ``limit`` bytes, so an over-long line spans two of them."""
    nul_allowed = encoding.startswith("utf-16")
    line, run = 1, 0  # the line being read, and its bytes so far
    block = min(limit, 1 << 20)
    with path.open("rb") as f:
        while chunk := f.read(block):
            if not nul_allowed and b"\x00" in chunk:
                raise Problem(
                    gettext_noop(
                        "Line %(line)s contains a NUL byte: the file is damaged or is not a text file. "
                        "Export it again."
                    ),
                    line=line + chunk.count(b"\n", 0, chunk.index(b"\x00")),
                )
            n, r = chunk.find(b"\n"), chunk.find(b"\r")
            first = n if r < 0 else r if n < 0 else min(n, r)
            if run + (len(chunk) if first < 0 else first) > limit:
                raise Problem(
                    gettext_noop(
                        "Line %(line)s is longer than %(limit)s, the limit for a line: is the file a CSV export?"
                    ),
                    line=line,
                    limit=_size(limit),
                )
            if first < 0:
                run += len(chunk)
            else:
                run = len(chunk) - max(chunk.rfind(b"\n"), chunk.rfind(b"\r")) - 1
                line += chunk.count(b"\n")


def _csv_records(path: Path, encoding: str) -> tuple[Iterator[tuple[int, list]], object, dict]:
    """(row number, cells) per record, plus what the end-of-file check needs."""
    limits = import_limits()
    max_field, max_columns = limits["max_field_bytes"], limits["max_columns"]
    _check_lines(path, encoding, max_field)
    csv.field_size_limit(max_field)
    with path.open("r", encoding=encoding, newline="", errors="replace") as peek:
        sample = peek.read(65536)
    f = path.open("r", encoding=encoding, newline="", errors="strict")
    reader = csv.reader(f, _dialect(sample))
    with path.open("rb") as raw:
        raw.seek(max(0, path.stat().st_size - 4))
        tail = raw.read()
    state = {"ends_cleanly": tail.rstrip(b"\x00").endswith((b"\n", b"\r")), "last": None, "number": 0}

    def records():
        number = 0
        try:
            for cells in reader:
                number += 1
                if len(cells) > max_columns:
                    raise Problem(
                        gettext_noop("Row %(row)s has %(count)s columns, more than the limit of %(limit)s."),
                        row=number,
                        count=len(cells),
                        limit=max_columns,
                    )
                state["last"] = cells
                yield number, cells
        except UnicodeDecodeError:
            # The reader decodes ahead of the rows it returns: the line of the first bad byte.
            damage = _first_undecodable(path, encoding)
            raise Problem(
                gettext_noop(
                    "Row %(row)s cannot be read as %(encoding)s: the file is in another encoding. "
                    "Save it as “CSV UTF-8”, or name the encoding (--encoding gbk)."
                ),
                row=number + 1 if damage is None else _line_of(path, damage),
                encoding=ENCODING_LABELS.get(encoding, encoding),
            ) from None
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise Problem(
                    gettext_noop("A cell in row %(row)s is longer than %(limit)s, the limit for a cell."),
                    row=number + 1,
                    limit=_size(max_field),
                ) from None
            if "unexpected end of data" in str(exc):
                raise Problem(
                    gettext_noop(
                        "The file ends inside a quoted value that starts on row %(row)s: "
                        "it looks truncated. Export it again."
                    ),
                    row=number + 1,
                ) from None
            raise Problem(
                gettext_noop("Row %(row)s is not valid CSV (%(detail)s)."), row=number + 1, detail=str(exc)
            ) from None
        finally:
            state["number"] = number
            f.close()

    return records(), f, state


def _end_check(state: dict, width: int) -> Iterator:
    """Runs once every row has been read: a short last row without a final line break means
    the export was cut off."""
    last = state["last"]
    if not state["ends_cleanly"] and last is not None and 0 < len(last) < width:
        raise Problem(
            gettext_noop(
                "The file ends in the middle of row %(row)s (%(cells)s of %(width)s columns): "
                "it looks truncated. Export it again."
            ),
            row=state["number"],
            cells=len(last),
            width=width,
        )
    yield from ()


def _excel_records(path: Path, sheet: str | None):
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise Problem(
            gettext_noop("Cannot read the workbook (%(detail)s): the file may be damaged or truncated."),
            detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        ) from None
    names = workbook.sheet_names
    if sheet is not None:
        if sheet not in names:
            raise Problem(
                gettext_noop("The workbook has no sheet %(sheet)s; its sheets are: %(sheets)s."),
                sheet=sheet,
                sheets=", ".join(names),
            )
        chosen = sheet
    else:
        visible = [m.name for m in workbook.sheets_metadata if str(m.visible).endswith("Visible")]
        chosen = (visible or names or [None])[0]
        if chosen is None:
            raise Problem(gettext_noop("The workbook has no sheets."))
    try:
        data = workbook.get_sheet_by_name(chosen)
    except CalamineError as exc:
        raise Problem(
            gettext_noop("Cannot read the sheet %(sheet)s (%(detail)s)."), sheet=chosen, detail=str(exc)
        ) from None

    def records():
        # iter_rows() starts at the sheet's first row, blank rows above the data included, so
        # its rows are numbered as the spreadsheet numbers them (counting from the data's own
        # start put a header on row 3 at row 5: QA).
        try:
            yield from enumerate(data.iter_rows(), start=1)
        except CalamineError as exc:
            raise Problem(
                gettext_noop("Cannot read the sheet %(sheet)s (%(detail)s)."), sheet=chosen, detail=str(exc)
            ) from None

    return records(), chosen


# --- workbook limits -------------------------------------------------------------------
#
# The reader (calamine) holds the whole rectangle a sheet's cells span, about 32 bytes a cell:
# two cells at A1 and XFD1048576 in a 5 KB file ask it for 512 GB, and the process aborts. An
# XLSX is a zip, and a few MB can unpack to gigabytes. So before the reader opens a workbook its
# zip directory is checked (the parts' declared sizes and how densely they are packed) and then,
# before it reads the sheet, the rectangle of the sheet's cells: from its declared <dimension>,
# read from the first KB of the sheet, or, for a sheet without one or small enough to read
# cheaply, from the cells' own references (a regular-expression pass over the XML, at a fraction
# of the reader's cost). A dimension that claims more than the cells hold is not held against a
# small sheet.

MAX_PARTS = 10_000  # parts of a workbook: Excel writes a few dozen
_EOCD = b"PK\x05\x06"
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\s+ref=\"([A-Za-z]+)(\d+)(?::([A-Za-z]+)(\d+))?\"")
_CELL_COLUMN = re.compile(rb"<(?:[\w.-]+:)?c\s[^>]*?\br=\"([A-Za-z]+)")
_REF_ROW = re.compile(rb"\sr=\"[A-Za-z]*(\d+)\"")
_PLAIN_COLUMN = re.compile(rb"<c r=\"([A-Za-z]+)")
_PLAIN_ROW = re.compile(rb" r=\"[A-Za-z]*(\d+)")
_CELL_START = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])")
_ROW_START = re.compile(rb"<(?:[\w.-]+:)?row(?=[\s/>])")
_CELL_NO_REF = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])(?![^>]*\sr=)")
_ROW_NO_REF = re.compile(rb"<(?:[\w.-]+:)?row(?=[\s/>])(?![^>]*\sr=)")
_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?sheet\s([^>]*)>")
_RELATIONSHIP_TAG = re.compile(rb"<(?:[\w.-]+:)?Relationship\s([^>]*)>")
_ATTRIBUTE = re.compile(rb"([\w.:-]+)\s*=\s*\"([^\"]*)\"")


def column_number(letters: str | bytes) -> int:
    """A -> 1, Z -> 26, AA -> 27, XFD -> 16384."""
    n = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.decode("ascii").upper():
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(number: int) -> str:
    """1 -> A, 16384 -> XFD."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def check_workbook(source, sheet: str | None = None) -> None:
    """Refuse, with a Problem naming the limit and the file's figure, a workbook the reader
    could not hold: ``source`` is a path or an open binary file (an upload); anything else
    than a zip (XLSX) or OLE (XLS) file passes."""
    limits = import_limits()
    owned = not hasattr(source, "read")
    f = open(source, "rb") if owned else source  # noqa: SIM115 - closed below
    try:
        f.seek(0, 2)
        size = f.tell()
        f.seek(0)
        magic = f.read(8)
        f.seek(0)
        if magic.startswith(OLE_MAGIC):
            if size > limits["max_xls_bytes"]:
                raise Problem(
                    gettext_noop(
                        "The XLS file is %(size)s, more than the limit of %(limit)s for XLS: save it as "
                        "XLSX or CSV."
                    ),
                    size=_size(size),
                    limit=_size(limits["max_xls_bytes"]),
                )
        elif magic.startswith(ZIP_MAGIC):
            _check_zip(f, size, sheet, limits)
    except Problem:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
            KeyError, NotImplementedError, RuntimeError) as exc:  # fmt: skip
        raise Problem(
            gettext_noop("Cannot read the workbook (%(detail)s): the file may be damaged or truncated."),
            detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        ) from None
    finally:
        if owned:
            f.close()
        else:
            f.seek(0)


def _check_zip(f, size: int, sheet: str | None, limits: dict) -> None:
    f.seek(max(0, size - 65557))
    tail = f.read()
    at = tail.rfind(_EOCD)
    if at >= 0 and at + 22 <= len(tail):
        parts = struct.unpack("<H", tail[at + 10 : at + 12])[0]
        if parts > MAX_PARTS:  # 0xFFFF: more than a zip can count without ZIP64
            raise Problem(
                gettext_noop("The workbook has %(count)s parts, more than the limit of %(limit)s."),
                count=f"{parts:,}",
                limit=f"{MAX_PARTS:,}",
            )
    f.seek(0)
    with zipfile.ZipFile(f) as z:
        infos = z.infolist()
        if len(infos) > MAX_PARTS:
            raise Problem(
                gettext_noop("The workbook has %(count)s parts, more than the limit of %(limit)s."),
                count=f"{len(infos):,}",
                limit=f"{MAX_PARTS:,}",
            )
        unpacked = sum(i.file_size for i in infos)
        if unpacked > limits["max_unpacked_bytes"]:
            raise Problem(
                gettext_noop(
                    "The workbook unpacks to %(size)s, more than the limit of %(limit)s: split it, or "
                    "save it as CSV."
                ),
                size=_size(unpacked),
                limit=_size(limits["max_unpacked_bytes"]),
            )
        if unpacked > limits["ratio_from_bytes"] and unpacked > limits["max_ratio"] * max(size, 1):
            raise Problem(
                gettext_noop(
                    "The workbook is compressed %(ratio)s to 1 (it unpacks to %(size)s), more than the "
                    "limit of %(limit)s to 1 that real workbooks keep: it is refused as a possible zip bomb."
                ),
                ratio=f"{unpacked // max(size, 1):,}",
                size=_size(unpacked),
                limit=limits["max_ratio"],
            )
        parts = sheet_parts(z, sheet)
        if not parts and ("content.xml" in z.namelist() or "xl/workbook.bin" in z.namelist()):
            # ODS and XLSB: their sheets cannot be checked before the reader holds them.
            raise Problem(
                gettext_noop("Only XLSX, XLS and CSV files are read: save the file as XLSX or CSV.")
            )
        for label, info in parts:
            _check_sheet(z, info, label, limits)


def _read_part(z: zipfile.ZipFile, name: str, limit: int = 16 * MB) -> bytes:
    try:
        with z.open(name) as part:
            return part.read(limit)
    except KeyError:
        return b""


def _attributes(raw: bytes) -> dict[str, str]:
    return {
        k.decode("utf-8", "replace"): html.unescape(v.decode("utf-8", "replace"))
        for k, v in _ATTRIBUTE.findall(raw)
    }


def sheet_parts(z: zipfile.ZipFile, sheet: str | None) -> list[tuple[str, zipfile.ZipInfo]]:
    """The part holding the sheet the reader will read (the named one, else the first visible
    one), found through the workbook and its relationships; every worksheet part when that
    fails, so that no sheet escapes the check."""
    names = {i.filename: i for i in z.infolist()}
    workbook = "xl/workbook.xml" if "xl/workbook.xml" in names else None
    if workbook is None:
        workbook = next((n for n in names if n.endswith("workbook.xml") and "_rels" not in n), None)
    found = None
    if workbook is not None:
        base = posixpath.dirname(workbook)
        rels = f"{base}/_rels/{posixpath.basename(workbook)}.rels" if base else f"_rels/{workbook}.rels"
        targets = {
            a.get("Id"): a.get("Target", "")
            for a in map(_attributes, (m.group(1) for m in _RELATIONSHIP_TAG.finditer(_read_part(z, rels))))
        }
        sheets = []
        for m in _SHEET_TAG.finditer(_read_part(z, workbook)):
            a = _attributes(m.group(1))
            rid = next((v for k, v in a.items() if k == "id" or k.endswith(":id")), None)
            sheets.append((a.get("name", ""), a.get("state", "visible") == "visible", rid))
        if sheet is not None:
            chosen = next((s for s in sheets if s[0] == sheet), None)
        else:
            chosen = next((s for s in sheets if s[1]), sheets[0] if sheets else None)
        if chosen is not None and chosen[2] in targets:
            target = targets[chosen[2]]
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"{base}/{target}")
            if path in names:
                found = [(chosen[0], names[path])]
    if found is None:
        found = [
            (posixpath.basename(n), i)
            for n, i in names.items()
            if "worksheets/" in n and n.endswith(".xml") and "_rels" not in n
        ]
    return found


def _check_sheet(z: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, limits: dict) -> None:
    with z.open(info) as part:
        head = part.read(64 * 1024)
        m = _DIMENSION.search(head)
        if m and info.file_size > limits["scan_bytes"]:
            first_col, first_row, last_col, last_row = m.groups()
            last_col = (last_col or first_col).decode("ascii").upper()
            last_row = int(last_row or first_row)
            # The rectangle from A1 (cells before the declared start only shrink it), trusted
            # once a cheap pass, in which only references beyond it match, finds none.
            rows, columns = last_row, column_number(last_col)
            if not _within_dimension(part, head, last_col, last_row):
                with z.open(info) as again:
                    rows, columns = _cells_extent(again, again.read(64 * 1024))
        else:
            rows, columns = _cells_extent(part, head)
    if columns > limits["max_columns"]:
        raise Problem(
            gettext_noop(
                "The sheet %(sheet)s has %(columns)s columns, more than the limit of %(limit)s columns."
            ),
            sheet=label,
            columns=f"{columns:,}",
            limit=f"{limits['max_columns']:,}",
        )
    if rows > limits["max_rows"]:
        raise Problem(
            gettext_noop("The sheet %(sheet)s has %(rows)s rows, more than the limit of %(limit)s rows."),
            sheet=label,
            rows=f"{rows:,}",
            limit=f"{limits['max_rows']:,}",
        )
    if rows * columns > limits["max_cells"]:
        raise Problem(
            gettext_noop(
                "The sheet %(sheet)s spans %(rows)s rows × %(columns)s columns (%(cells)s cells), more "
                "than the limit of %(limit)s cells: delete stray cells far from the data, or split the sheet."
            ),
            sheet=label,
            rows=f"{rows:,}",
            columns=f"{columns:,}",
            cells=f"{rows * columns:,}",
            limit=f"{limits['max_cells']:,}",
        )


def _beyond(text: str, alphabet: str) -> str:
    """A pattern for the tokens of ``alphabet`` that sort after ``text`` as the reader counts
    (longer is larger; equal lengths compare position by position): "H" -> [I-Z] or 2+ letters."""
    first, last = alphabet[0], alphabet[-1]
    options = [f"[{first}-{last}]{{{len(text) + 1},}}"]
    for i, ch in enumerate(text):
        following = alphabet[alphabet.index(ch) + 1 :]
        if following:
            rest = f"[{first}-{last}]{{{len(text) - i - 1}}}" if i < len(text) - 1 else ""
            options.append(f"{re.escape(text[:i])}[{following[0]}-{last}]{rest}")
    return "(?:" + "|".join(options) + ")"


def _within_dimension(part, head: bytes, last_col: str, last_row: int) -> bool:
    """Whether every cell of a sheet whose cells all carry a plain reference lies within
    A1:``last_col````last_row``. False as soon as one lies outside, or a cell or row without a
    reference (or with a namespace prefix) makes the plain patterns unreliable."""
    if not last_col.isalpha() or not last_col.isascii():
        return False
    beyond = re.compile(
        rb'<c r="(?:'
        + _beyond(last_col, "ABCDEFGHIJKLMNOPQRSTUVWXYZ").encode()
        + rb"\d|[A-Z]+"
        + _beyond(str(last_row), "0123456789").encode()
        + rb'")'
    )
    carry, chunk = b"", head
    while chunk:
        following = part.read(1 << 22)
        block = carry + chunk
        if following:
            cut = block.rfind(b">") + 1
            block, carry = block[:cut], block[cut:][-65536:]
        if (
            block.count(b"<c ") != block.count(b'<c r="')
            or b"<c>" in block
            or b"<c/>" in block
            or b":c " in block
            or beyond.search(block)
        ):
            return False
        chunk = following
    return True


def _cells_extent(part, head: bytes) -> tuple[int, int]:
    """(rows, columns) of the rectangle the sheet's cells span, from their references; cells and
    rows without one take the next position, as the reader places them."""
    letters: set[bytes] = set()
    low_row = high_row = 0
    rows_without_ref = widest_without_ref = 0
    any_without_ref = False
    row_so_far = 0  # cells of the last row of the previous block, which may go on in this one
    carry, chunk = b"", head
    while chunk:
        following = part.read(1 << 20)
        block = carry + chunk
        if following:  # whole tags only: the rest waits for the next block
            cut = block.rfind(b">") + 1
            block, carry = block[:cut], block[cut:][-65536:]
        # Excel and most writers give every cell and row a reference, as its first attribute:
        # counted at C speed, and then read with patterns that start with a literal.
        plain = (
            block.count(b"<c ") == block.count(b'<c r="')
            and block.count(b"<row ") == block.count(b'<row r="')
            and b"<c>" not in block
            and b"<c/>" not in block
            and b"<row>" not in block
            and b":c" not in block
            and b":row" not in block
        )
        letters.update((_PLAIN_COLUMN if plain else _CELL_COLUMN).findall(block))
        numbers = {int(d) for d in set((_PLAIN_ROW if plain else _REF_ROW).findall(block))}
        if numbers:
            high_row = max(high_row, *numbers)
            low_row = min(low_row or high_row, *numbers)
        if not plain and (_CELL_NO_REF.search(block) or _ROW_NO_REF.search(block)):
            any_without_ref = True
            rows_without_ref += len(_ROW_NO_REF.findall(block))
            counts = [len(_CELL_START.findall(row_xml)) for row_xml in _ROW_START.split(block)]
            counts[0] += row_so_far
            widest_without_ref = max(widest_without_ref, *counts)
            row_so_far = counts[-1]
        else:
            row_so_far = 0
        chunk = following
    columns = [column_number(c) for c in letters]
    high_col, low_col = max(columns, default=0), min(columns, default=1)
    if any_without_ref:
        return high_row + rows_without_ref, high_col + widest_without_ref
    if not high_row:
        return 0, 0
    return high_row - low_row + 1, high_col - low_col + 1


@contextmanager
def open_table(path, *, encoding: str | None = None, sheet: str | None = None):
    """Open a CSV or Excel file (told apart by content, not by name) as a :class:`Table`."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Problem(
            gettext_noop("Cannot open %(file)s (%(detail)s)."), file=path.name, detail=exc.strerror
        ) from None
    if size == 0:
        raise Problem(gettext_noop("The file is empty."))
    with path.open("rb") as f:
        magic = f.read(8)
    closer = state = None
    if magic.startswith(ZIP_MAGIC) or magic.startswith(OLE_MAGIC):
        fmt = "xlsx" if magic.startswith(ZIP_MAGIC) else "xls"
        check_workbook(path, sheet)
        records, chosen = _excel_records(path, sheet)
        enc = None
    else:
        fmt, chosen = "csv", None
        enc = normalise_encoding(encoding) if encoding else detect_encoding(path)
        records, closer, state = _csv_records(path, enc)
    try:
        header_row, headers, after = _find_header(records)
        table = Table(format=fmt, headers=headers, header_row=header_row, encoding=enc, sheet=chosen)
        table._buffer = list(after)
        table._rest = chain(records, _end_check(state, len(headers))) if state is not None else records
        yield table
    finally:
        if closer is not None:
            closer.close()
        if hasattr(records, "close"):
            records.close()


# --- header guessing -------------------------------------------------------------------

_PAREN = re.compile(r"[(（\[【].*?[)）\]】]")
_JUNK = re.compile(r"[\s_\-.:：/\\#*'\"`]+")


def header_key(text: str) -> str:
    """“Order Date” == “order_date” == “OrderDate”; “销售额(元)” == “销售额”."""
    return _JUNK.sub("", _PAREN.sub("", text)).casefold()


SYNONYMS: dict[str, list[str]] = {
    "external_id": [
        "externalid",
        "rowid",
        "lineid",
        "orderlineid",
        "订单明细号",
        "明细id",
        "明细编号",
        "行id",
        "id",
        "编号",
        "单号",
        "单据号",
        "单据编号",
        "流水号",
        "orderid",
        "ordernumber",
        "orderno",
        "salesordernumber",
        "订单号",
        "订单编号",
        "invoiceno",
        "invoicenumber",
        "发票号",
        "回款单号",
        "收款单号",
        "拜访编号",
        "商机编号",
        "opportunityid",
    ],
    "date": [
        "date",
        "日期",
        "orderdate",
        "订单日期",
        "下单日期",
        "销售日期",
        "单据日期",
        "业务日期",
        "成交日期",
        "invoicedate",
        "开票日期",
        "回款日期",
        "收款日期",
        "paymentdate",
        "拜访日期",
        "visitdate",
        "创建日期",
        "createddate",
        "closedate",
        "预计成交日期",
        "transactiondate",
        "交易日期",
    ],
    "amount": [
        "amount",
        "金额",
        "销售额",
        "销售金额",
        "sales",
        "salesamount",
        "revenue",
        "订单金额",
        "含税金额",
        "价税合计",
        "成交金额",
        "回款金额",
        "收款金额",
        "回款额",
        "商机金额",
        "预计金额",
        "expectedamount",
        "totalamount",
        "total",
        "value",
        "extendedamount",
        "netamount",
        "净额",
    ],
    "quantity": ["quantity", "qty", "数量", "销量", "销售数量", "orderquantity", "units", "件数"],
    "profit": ["profit", "毛利", "毛利额", "利润", "grossprofit", "margin"],
    "person": [
        "person",
        "salesperson",
        "salesrep",
        "rep",
        "销售员",
        "业务员",
        "销售代表",
        "销售人员",
        "负责人",
        "客户经理",
        "owner",
        "employee",
        "employeekey",
        "employeeid",
        "工号",
        "员工编号",
        "员工",
        "销售",
        "opportunityowner",
        "商机负责人",
        "拜访人",
    ],
    "product": [
        "product",
        "productid",
        "productcode",
        "productkey",
        "sku",
        "itemcode",
        "item",
        "产品",
        "产品编码",
        "产品编号",
        "物料编码",
        "物料号",
        "商品编码",
        "存货编码",
    ],
    "product_name": ["productname", "产品名称", "商品名称", "物料名称", "存货名称", "itemname", "品名"],
    "product_category": [
        "productcategory",
        "category",
        "产品类别",
        "产品分类",
        "品类",
        "类别",
        "产品线",
        "productline",
    ],
    "customer": [
        "customer",
        "customerid",
        "customercode",
        "customerkey",
        "account",
        "accountid",
        "客户",
        "客户编码",
        "客户编号",
        "客户代码",
    ],
    "customer_name": ["customername", "accountname", "客户名称", "客户全称", "客户名"],
    "region": ["region", "territory", "salesterritory", "区域", "地区", "大区", "销售区域", "片区"],
    "stage": ["stage", "opportunitystage", "salesstage", "阶段", "商机阶段", "销售阶段"],
}
_SUB_CATEGORY = {"subcategory", "子类别", "子类", "小类", "二级分类", "二级类别"}
_LINE_NUMBER = {"salesorderlinenumber", "linenumber", "lineno", "orderline", "行号", "明细行号", "序号"}
_ORDER_NUMBER = {"salesordernumber", "ordernumber", "orderno", "订单号", "订单编号", "单据号", "单据编号"}


def guess_mapping(headers: list[str], fields: Iterable[str], synonyms: dict[str, list[str]] | None = None):
    """Field -> list of column names, from the headers (Chinese or English)."""
    synonyms = synonyms or SYNONYMS
    keys = {header_key(h): h for h in reversed(headers) if h}
    taken: set[str] = set()
    mapping: dict[str, list[str]] = {}
    fields = list(fields)
    if "external_id" in fields:
        # A sales line is identified by order number + line number when there is no row id.
        orders = [keys[k] for k in keys if k in _ORDER_NUMBER]
        lines = [keys[k] for k in keys if k in _LINE_NUMBER]
        has_row_id = any(k in keys for k in ("rowid", "lineid", "orderlineid", "externalid", "id"))
        if orders and lines and not has_row_id:
            mapping["external_id"] = [orders[0], lines[0]]
            taken.update(mapping["external_id"])
    for f in fields:
        if f in mapping:
            continue
        for candidate in synonyms.get(f, []):
            header = keys.get(candidate)
            if header and header not in taken:
                mapping[f] = [header]
                taken.add(header)
                break
    if "product_category" in mapping:
        subs = [keys[k] for k in keys if k in _SUB_CATEGORY and keys[k] not in taken]
        if subs:
            mapping["product_category"].append(subs[0])
    return mapping


def check_mapped_headers(headers: list[str], columns: dict[str, list[int]], label=str) -> None:
    """A header that appears twice cannot tell which of its columns a field reads (the first
    was used, silently): refused when it is mapped to a field. Unused duplicates are fine."""
    where: dict[str, list[int]] = {}
    for i, header in enumerate(headers):
        if header:
            where.setdefault(header.casefold(), []).append(i)
    for name, idx in columns.items():
        for i in idx:
            same = where.get(headers[i].casefold(), []) if i < len(headers) and headers[i] else []
            if len(same) > 1:
                first, second = same[0], next(j for j in same if j != same[0])
                raise Problem(
                    gettext_noop(
                        "The column %(column)s appears twice (columns %(first)s and %(second)s) and is "
                        "read as %(field)s: rename one of the two, or map another column."
                    ),
                    column=headers[i],
                    first=f"{first + 1} ({column_letters(first + 1)})",
                    second=f"{second + 1} ({column_letters(second + 1)})",
                    field=label(name),
                )


# --- cells -----------------------------------------------------------------------------

# What may follow a leading + or - in a number: digits, spaces, separators, brackets, currency
# signs (-12.5, -¥1,234.50, +86 138 0000 0000, +86-21-5555-0100). No letters, no operators.
_SIGNED_NUMBER = re.compile(r"[+\-][\s\d.,，'()（）%/:¥￥$€£-]*")


def looks_like_formula(text: str) -> bool:
    """Text a spreadsheet would run as a formula (=HYPERLINK(…), +cmd|' /C calc'!A0, @SUM(…)):
    anything starting with = + - @ but a lone sign or a number.

    Such cells are refused on input, so they can never reach an export or error report that
    someone opens in Excel (CSV injection)."""
    s = text.lstrip(" \t\r\n")
    if len(s) < 2:
        return False
    first = s[0]
    if first in "=@":
        return True
    if first in "+-":
        return _SIGNED_NUMBER.fullmatch(s) is None
    return False


def spreadsheet_safe(value) -> str:
    """A cell for a CSV meant for Excel: text that Excel would read as a formula gets a quote."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def cell_text(value) -> str:
    """A cell as text: Excel's 1.0 for an id becomes “1”, dates become ISO."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


# amounts

_THOUSANDS = re.compile(r"^\d{1,3}(?:[,，' ]\d{3})+(?:\.\d*)?$")
_CURRENCY = re.compile(r"(?i)^(?:cny|rmb|usd|us\$|hk\$|[¥￥$€£])|(?:元|块|cny|rmb|usd|[¥￥$€£])$")
_SPACES = re.compile(r"[\s\u00a0\u3000]+")


def parse_decimal(value) -> Decimal:
    """An exact Decimal from a cell: “¥1,234.50”, “(1,234.50)”, “1234.50-”, “-¥12”, 12.5.

    Excel stores numbers as binary floats with 15 significant digits; reading them back at
    that precision gives 3.54 for 3.539999999999999, the value the user typed."""
    kind = type(value)
    if kind is str:
        if "_" in value:  # Decimal() reads 1_000 as 1000
            return _parse_decimal_text(value)
        try:
            d = Decimal(value)
        except InvalidOperation:
            return _parse_decimal_text(value)
        if d.is_finite():
            return d
        raise Problem(gettext_noop("“%(value)s” is not a number."), value=value)
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise Problem(gettext_noop("“%(value)s” is not a number."), value=value)
        return Decimal(format(value, ".15g"))
    if kind is int:
        return Decimal(value)
    if isinstance(value, Decimal):
        if value.is_finite():
            return value
        raise Problem(gettext_noop("“%(value)s” is not a number."), value=value)
    if value is None:
        raise Problem(gettext_noop("A value is required."))
    if isinstance(value, bool):
        raise Problem(gettext_noop("“%(value)s” is not a number."), value=value)
    return _parse_decimal_text(cell_text(value))


def _parse_decimal_text(text: str) -> Decimal:
    original = text
    s = _SPACES.sub(" ", text).strip()
    if looks_like_formula(s):
        raise Problem(
            gettext_noop("“%(value)s” looks like a spreadsheet formula; formulas are refused."), value=text
        )
    signs = 0
    if (s.startswith("(") and s.endswith(")")) or (s.startswith("（") and s.endswith("）")):
        signs, s = signs + 1, s[1:-1].strip()
    if s.endswith("-"):
        signs, s = signs + 1, s[:-1].strip()
    for _ in range(2):
        if s.startswith(("-", "−")):
            signs, s = signs + 1, s[1:].strip()
        elif s.startswith("+"):
            s = s[1:].strip()
        s = _CURRENCY.sub("", s).strip()
    if _THOUSANDS.match(s):
        s = re.sub(r"[,，' ]", "", s)
    if signs > 1 or not re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", s):
        if not s:
            raise Problem(gettext_noop("A value is required."))
        raise Problem(gettext_noop("“%(value)s” is not a number."), value=original)
    d = Decimal(s)
    return d.copy_negate() if signs else d  # exact: -d would round (and overflow) a huge one


# (low, high) per scale: ints for scale 0 (quantities), Decimals in the file's unit otherwise.
_BOUNDS = [(-MAX_MINOR_UNITS, MAX_MINOR_UNITS)] + [
    (-Decimal(MAX_MINOR_UNITS).scaleb(-scale), Decimal(MAX_MINOR_UNITS).scaleb(-scale))
    for scale in range(1, 16)
]


def bounded(number, value, field: str | None = None, scale: int = 0):
    """``number`` if its magnitude in minor units (``number`` x 10^``scale``: amounts in the
    file's unit, scale 2 for yuan -> fen) is at most MAX_MINOR_UNITS, else the row's Problem
    naming the value, the field and the limit in the file's unit.

    The one rule for the import's fast path and its error path, so it is lean: two comparisons.
    Compared before scaling, so an absurd exponent (1e999999) never overflows; ``number`` is an
    int or a finite Decimal."""
    low, high = _BOUNDS[scale]
    if low <= number <= high:
        return number
    limit = f"{MAX_MINOR_UNITS // 10**scale:,}"
    if field:
        raise Problem(
            gettext_noop("“%(value)s” is out of range for %(field)s: the limit is ±%(limit)s."),
            value=cell_text(value),
            field=field,
            limit=limit,
        )
    raise Problem(
        gettext_noop("“%(value)s” is out of range: the limit is ±%(limit)s."),
        value=cell_text(value),
        limit=limit,
    )


# The unit of a file's amounts, in the company's currency whatever it is: the names (yuan,
# thousand, wan, million: the CLI's --unit, the API's and the upload form's values) first,
# then the words people write in headers and options.
UNIT_NAMES = ("yuan", "thousand", "wan", "million")
UNITS = {
    "yuan": 1,
    "元": 1,
    "units": 1,
    "thousand": 1000,
    "千": 1000,
    "千元": 1000,
    "k": 1000,
    "wan": 10000,
    "万": 10000,
    "万元": 10000,
    "million": 1_000_000,
    "百万": 1_000_000,
    "百万元": 1_000_000,
    "m": 1_000_000,
}


def unit_multiplier(unit: str | None) -> int:
    key = (unit or "yuan").strip().lower()
    if key not in UNITS:
        raise Problem(
            gettext_noop("Unknown unit %(unit)s: use %(units)s."), unit=unit, units=", ".join(UNIT_NAMES)
        )
    return UNITS[key]


class Rounder:
    """Exact amounts to whole fen so that the rounded rows add up to the rounded total.

    Rounding each row on its own lets the errors pile up: the 10,194 lines of the Superstore
    sample (many with 3-4 decimals) would sum 0.17 yuan above the file's total. Instead the
    sub-fen remainder is carried from row to row (error diffusion): every row stays within
    one fen of its exact value, rows already in whole fen are stored unchanged, and the sum of
    the stored rows always equals the exact sum rounded half-up at the fen."""

    __slots__ = ("residue",)

    def __init__(self, residue: Decimal = Decimal(0)):
        self.residue = residue

    def take(self, exact: Decimal) -> int:
        if not self.residue:
            # Most rows are in whole fen: they skip the arithmetic (a million rows per import).
            whole = int(exact)
            if whole == exact:
                return whole
        t = self.residue + exact
        r = round_half_up(t)
        self.residue = t - r
        return r


def parse_whole(value, field: str | None = None) -> int:
    """A whole number within ±MAX_MINOR_UNITS (see :func:`bounded`).

    A whole float (a workbook's number) is taken exactly, not at the 15 digits that
    :func:`parse_decimal` reads money with: 1000000000000001 is beyond the bound, not 10^15.
    ``int()`` reads plain digits first because this runs for every quantity of an import."""
    if type(value) is str and "_" not in value:  # int() reads 1_000 as 1000
        try:
            return bounded(int(value), value, field)
        except ValueError:
            pass
    elif type(value) is float and value.is_integer():
        return bounded(int(value), value, field)
    d = bounded(parse_decimal(value), value, field)
    if d != d.to_integral_value():
        raise Problem(gettext_noop("“%(value)s” is not a whole number."), value=cell_text(value))
    return int(d)


# dates

EXCEL_EPOCH = dt.date(1899, 12, 30)
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$")
_CHINESE_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_TIME_SUFFIX = re.compile(
    r"^(.*?\d)(?:[T ]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)$"
)
_MONTH_NAME_FORMATS = ("%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y")
DATE_FORMATS = {
    "ymd": "yyyy-mm-dd",
    "dmy": "dd/mm/yy",
    "mdy": "mm/dd/yy",
}


def parse_date_format(fmt: str | None) -> tuple[str | None, str | None]:
    """(order, strptime pattern) from what the user typed: dd/mm/yy, mm/dd/yyyy, dmy, %d.%m.%Y …"""
    if not fmt or fmt.strip().lower() in ("auto", ""):
        return None, None
    fmt = fmt.strip()
    if "%" in fmt:
        return None, fmt
    letters = "".join(ch for ch in fmt.lower() if ch in "dmy")
    order = "".join(dict.fromkeys(letters))
    if order in ("ymd", "dmy", "mdy"):
        return order, None
    raise Problem(
        gettext_noop(
            "Unknown date format %(format)s: use yyyy-mm-dd, dd/mm/yy, mm/dd/yy or a pattern like %%d.%%m.%%Y."
        ),
        format=fmt,
    )


def _year(text: str) -> int:
    y = int(text)
    if len(text) <= 2:
        return 2000 + y if y < 69 else 1900 + y
    return y


def _make(y: int, m: int, d: int, raw) -> dt.date:
    try:
        day = dt.date(y, m, d)
    except ValueError:
        raise Problem(gettext_noop("“%(value)s” is not a valid date."), value=cell_text(raw)) from None
    if not 1950 <= day.year <= 2100:
        raise Problem(gettext_noop("The date %(value)s is out of range (1950–2100)."), value=cell_text(raw))
    return day


def date_evidence(value) -> str | None:
    """For a day/month/year value whose order is in doubt: “dmy” or “mdy” if this value settles
    it, “either” if it fits both, None if its order is not in doubt or it fits neither (00/00/00,
    13/13/24: an error of its row, not a question about the file)."""
    if type(value) is not str:
        return None
    s = value.strip()
    m = _TIME_SUFFIX.match(s)
    if m:
        s = m.group(1)
    m = _NUMERIC_DATE.match(s)
    if not m or len(m.group(1)) > 2 or len(m.group(3)) not in (2, 4):
        return None
    a, b = int(m.group(1)), int(m.group(2))
    dmy, mdy = 1 <= a <= 31 and 1 <= b <= 12, 1 <= a <= 12 and 1 <= b <= 31
    if dmy and mdy:
        return "either"
    return "dmy" if dmy else "mdy" if mdy else None


def decide_date_order(values: Iterable) -> tuple[str | None, str | None]:
    """(order, example): the order the file's own values prove, or None with an example of a
    value that fits both when nothing proves it; the majority wins when values disagree (the
    minority then fails row by row)."""
    votes = {"dmy": 0, "mdy": 0}
    example = None
    for value in values:
        evidence = date_evidence(value)
        if evidence in votes:
            votes[evidence] += 1
        elif evidence == "either" and example is None:
            example = value
    if votes["dmy"] or votes["mdy"]:
        return ("dmy" if votes["dmy"] >= votes["mdy"] else "mdy"), None
    return None, example


class DateParser:
    """Cell -> ISO date string, cached: a million order lines carry a few hundred distinct dates."""

    def __init__(self, order: str | None = None, pattern: str | None = None):
        self.order = order
        self.pattern = pattern
        self.cache: dict = {}

    @property
    def label(self) -> str:
        return self.pattern or DATE_FORMATS.get(self.order or "", "auto")

    def __call__(self, value) -> str:
        try:
            return self.cache[value]
        except (KeyError, TypeError):
            pass
        iso = self._parse(value).isoformat()
        try:
            self.cache[value] = iso
        except TypeError:
            pass
        return iso

    def _parse(self, value) -> dt.date:
        if isinstance(value, dt.datetime):
            return _make(value.year, value.month, value.day, value)
        if isinstance(value, dt.date):
            return _make(value.year, value.month, value.day, value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return self._serial(value, value)
        if value is None:
            raise Problem(gettext_noop("A date is required."))
        s = cell_text(value)
        if not s:
            raise Problem(gettext_noop("A date is required."))
        if looks_like_formula(s):
            raise Problem(
                gettext_noop("“%(value)s” looks like a spreadsheet formula; formulas are refused."), value=s
            )
        if self.pattern:
            try:
                parsed = dt.datetime.strptime(s, self.pattern)
            except ValueError:
                raise Problem(
                    gettext_noop("“%(value)s” does not match the date format %(format)s."),
                    value=s,
                    format=self.pattern,
                ) from None
            return _make(parsed.year, parsed.month, parsed.day, s)
        m = _TIME_SUFFIX.match(s)
        core = m.group(1) if m else s
        m = _NUMERIC_DATE.match(core)
        if m:
            a, b, c = m.groups()
            if len(a) == 4:
                return _make(int(a), int(b), int(c), s)
            if len(a) <= 2 and len(c) in (2, 4):
                order = self.order
                if order is None or order == "ymd":
                    evidence = date_evidence(core)
                    if evidence in ("dmy", "mdy"):
                        order = evidence
                    elif evidence is None:
                        raise Problem(gettext_noop("“%(value)s” is not a valid date."), value=s)
                    else:
                        raise Problem(
                            gettext_noop(
                                "“%(value)s” could be day/month or month/day: choose the date format, "
                                "dd/mm/yy or mm/dd/yy (Date format on the import page, --date-format on "
                                "the command line)."
                            ),
                            value=s,
                        )
                if order == "dmy":
                    return _make(_year(c), int(b), int(a), s)
                return _make(_year(c), int(a), int(b), s)
        m = _CHINESE_DATE.match(core)
        if m:
            return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), s)
        m = _COMPACT_DATE.match(core)
        if m:
            return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), s)
        if _SERIAL.match(core):
            return self._serial(float(core), s)
        for pattern in _MONTH_NAME_FORMATS:
            try:
                parsed = dt.datetime.strptime(core, pattern)
            except ValueError:
                continue
            return _make(parsed.year, parsed.month, parsed.day, s)
        raise Problem(gettext_noop("“%(value)s” is not a date."), value=s)

    @staticmethod
    def _serial(number: float, raw) -> dt.date:
        """Excel's serial day numbers (45292 = 2024-01-01), accepted within 1950–2100."""
        if not 18264 <= number <= 73050:
            raise Problem(gettext_noop("“%(value)s” is not a date."), value=cell_text(raw))
        return EXCEL_EPOCH + dt.timedelta(days=int(number))


# bools and choices

_TRUE = {"1", "true", "yes", "y", "t", "是", "有效", "启用", "在用", "正常", "active", "x", "✓"}
_FALSE = {"0", "false", "no", "n", "f", "否", "无效", "停用", "禁用", "inactive", "disabled"}


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    s = cell_text(value).casefold()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise Problem(gettext_noop("“%(value)s” is not yes or no."), value=cell_text(value))


def parse_choice(value, choices: dict[str, str], allowed: str) -> str:
    s = cell_text(value)
    key = header_key(s)
    if key in choices:
        return choices[key]
    raise Problem(gettext_noop("“%(value)s” is not one of: %(allowed)s."), value=s, allowed=allowed)
