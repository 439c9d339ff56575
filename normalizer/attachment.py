"""Attachment checks by content (magic bytes), never by name or Content-Type."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Kind:
    """An accepted file kind: canonical extension, MIME type, accepted extensions."""

    ext: str
    mime: str
    extensions: frozenset[str]


JPG = Kind("jpg", "image/jpeg", frozenset({"jpg", "jpeg"}))
PDF = Kind("pdf", "application/pdf", frozenset({"pdf"}))
DOC = Kind("doc", "application/msword", frozenset({"doc"}))
XLS = Kind("xls", "application/vnd.ms-excel", frozenset({"xls"}))
DOCX = Kind(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    frozenset({"docx"}),
)
XLSX = Kind(
    "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    frozenset({"xlsx"}),
)
ALLOWED_EXTENSIONS = frozenset().union(*(k.extensions for k in (JPG, PDF, DOC, XLS, DOCX, XLSX)))


def _sniff_ooxml(data: bytes) -> Kind | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return None


def _sniff_ole(data: bytes, ext: str) -> Kind | None:
    # Word 97-2003 and Excel 97-2003 share the OLE container; its stream names are
    # UTF-16 in the directory sectors, so look for them as such.
    if "WordDocument".encode("utf-16-le") in data:
        return DOC
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return XLS
    return {"doc": DOC, "xls": XLS}.get(ext)


def sniff(data: bytes, ext: str = "") -> Kind | None:
    """Return the accepted kind that ``data`` really is, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPG
    if data[:1024].lstrip(b"\r\n\t ").startswith(b"%PDF-"):
        return PDF
    if data.startswith(OLE_MAGIC):
        return _sniff_ole(data, ext)
    if data.startswith(b"PK\x03\x04"):
        return _sniff_ooxml(data)
    return None


_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def safe_name(filename: str) -> str:
    """A display name with no path, controls or odd characters (kept for the agency)."""
    base = PureWindowsPath(PurePosixPath(filename or "").name).name
    base = unicodedata.normalize("NFC", base).replace("\x00", "")
    base = _UNSAFE.sub("_", base).strip(" .")
    return base[-120:] or "tep-dinh-kem"


def extension(filename: str) -> str:
    """Lower-case extension of a (sanitized) file name, without the dot."""
    name = safe_name(filename)
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def check(filename: str, data: bytes, max_bytes: int) -> Kind | str:
    """Return the file's Kind, or an error code: empty, too_large, bad_type, mismatch."""
    if not data:
        return "empty"
    if len(data) > max_bytes:
        return "too_large"
    ext = extension(filename)
    kind = sniff(data, ext)
    if kind is None:
        return "bad_type"
    if ext not in kind.extensions:
        return "mismatch"
    return kind


@dataclass(frozen=True)
class FileProblem:
    """A rejected file: its display name and the error code."""

    filename: str
    code: str
    limit: int = 0


def check_all(
    files: list[tuple[str, bytes]], *, max_files: int, max_bytes: int, max_total: int
) -> tuple[list[Kind], list[FileProblem]]:
    """Check a batch of files: count, total size, and each file by content."""
    problems: list[FileProblem] = []
    if len(files) > max_files:
        return [], [FileProblem("", "too_many", max_files)]
    if sum(len(data) for _, data in files) > max_total:
        return [], [FileProblem("", "total_too_large", max_total // (1024 * 1024))]
    kinds: list[Kind] = []
    for name, data in files:
        outcome = check(name, data, max_bytes)
        if isinstance(outcome, Kind):
            kinds.append(outcome)
        else:
            problems.append(FileProblem(safe_name(name), outcome, max_bytes // (1024 * 1024)))
    return kinds, problems
