"""Where letters come from: files, folders and globs of `.txt` and `.pdf`, read into text.

Each letter keeps an id that survives moving the corpus — its path relative to the input
root it was found under — and the sha256 of its bytes, so a rerun can tell a letter already
done from one that changed. Reading is separate from finding: a file that cannot be read
(not UTF-8, a PDF with no text layer) becomes a typed error for that letter alone.
"""

from __future__ import annotations

import glob
import hashlib
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from imr_llm.errors import InvalidLetterError

SUFFIXES = (".txt", ".pdf")
MIN_PDF_CHARS = 200
"""Fewer extracted characters than this in a whole PDF means no usable text layer."""


class NoTextLayerError(InvalidLetterError):
    """A PDF whose pages carry no extractable text: a scan, which needs OCR first."""


@dataclass(frozen=True)
class Letter:
    """One input file: `id` is its path under the input root; `sha256` is of its bytes."""

    id: str
    path: Path
    sha256: str

    @classmethod
    def at(cls, path: Path, root: Path) -> Letter:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        rel = path.relative_to(root) if root != path else Path(path.name)
        return cls(id=rel.as_posix(), path=path, sha256=digest)

    def read(self) -> str | bytes:
        """The letter's text (bytes for `.txt`: `check_letter` decodes and vets them)."""
        data = self.path.read_bytes()
        return pdf_text(data) if self.path.suffix.lower() == ".pdf" else data


def pdf_text(data: bytes) -> str:
    """Text of every page of a PDF, in order (a page break is a line break: paragraphs run on)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings can quote page content
    try:
        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InvalidLetterError(f"not a readable PDF ({type(exc).__name__})") from exc
    text = "\n".join(pages)
    if len(text.strip()) < MIN_PDF_CHARS:
        raise NoTextLayerError(
            f"PDF has {len(pages)} page(s) but only {len(text.strip())} characters of text: "
            "a scanned letter without a text layer; run OCR (e.g. ocrmypdf) and try again"
        )
    return text


def _root_of(pattern: str) -> Path:
    """The folder a glob pattern starts from: its parts before the first wildcard."""
    parts: list[str] = []
    for part in Path(pattern).parts:
        if glob.has_magic(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _found(target: str) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs for one argument: a file, a folder (recursive) or a glob."""
    path = Path(target)
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and p.suffix.lower() in SUFFIXES:
                yield p, path
    elif path.is_file():
        yield path, path
    elif glob.has_magic(target):
        root = _root_of(target)
        for name in sorted(glob.glob(target, recursive=True)):
            p = Path(name)
            if p.is_file() and p.suffix.lower() in SUFFIXES:
                yield p, root
    else:
        raise FileNotFoundError(f"no such file or folder: {target}")


def discover(targets: Iterable[str | Path]) -> list[Letter]:
    """Every letter under `targets`, in a stable order, each once (the first root wins)."""
    seen: dict[Path, Letter] = {}
    for target in targets:
        for path, root in _found(str(target)):
            key = path.resolve()
            if key not in seen:
                seen[key] = Letter.at(path, root)
    return list(seen.values())
