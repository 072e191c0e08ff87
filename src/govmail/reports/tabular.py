"""Reading the tables people send: CSV (UTF-8, comma, semicolon or tab) and XLSX (every
sheet), as rows of cells that keep what the reader needs to interpret numbers (an XLSX
cell formatted as a percentage holds 0.916 for "91.6%")."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govmail.directory.names import ascii_fold
from govmail.i18n import t

MAX_ROWS = 100_000


class TableFileError(Exception):
    """The file as a whole cannot be read; nothing was imported."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(t(f"reports.file.{key}", **params))


@dataclass(frozen=True, slots=True)
class Cell:
    value: Any
    percent_format: bool = False

    @property
    def text(self) -> str:
        v = self.value
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return " ".join(unicodedata.normalize("NFC", str(v)).split())


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    rows: list[list[Cell]]  # rows[i] is file row i + 1


def fold(text: str) -> str:
    """Lower case, no diacritics, single spaces: how headers and phrases are compared."""
    return " ".join(ascii_fold(unicodedata.normalize("NFC", text)).split())


def read_tables(path: Path) -> list[Sheet]:
    if not path.is_file():
        raise TableFileError("missing", path=str(path))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return [Sheet(path.stem, _csv(path))]
    raise TableFileError("type", path=str(path))


def _csv(path: Path) -> list[list[Cell]]:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise TableFileError("corrupt", path=str(path), detail="binary content")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableFileError("encoding", path=str(path), position=exc.start) from exc
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[Cell]] = []
    try:
        for raw in csv.reader(io.StringIO(text), dialect):
            rows.append([Cell(v) for v in raw])
            if len(rows) > MAX_ROWS:
                raise TableFileError("too_long", path=str(path), rows=MAX_ROWS)
    except csv.Error as exc:
        raise TableFileError("corrupt", path=str(path), detail=str(exc)) from exc
    return rows


def _xlsx(path: Path) -> list[Sheet]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise TableFileError("corrupt", path=str(path), detail=type(exc).__name__) from exc
    sheets: list[Sheet] = []
    try:
        for ws in wb.worksheets:
            rows: list[list[Cell]] = []
            for row in ws.iter_rows():
                cells = []
                for c in row:
                    fmt = getattr(c, "number_format", "") or ""
                    cells.append(Cell(getattr(c, "value", None), "%" in fmt))
                rows.append(cells)
                if len(rows) > MAX_ROWS:
                    raise TableFileError("too_long", path=str(path), rows=MAX_ROWS)
            sheets.append(Sheet(ws.title, rows))
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise TableFileError("corrupt", path=str(path), detail=type(exc).__name__) from exc
    finally:
        wb.close()
    return sheets
