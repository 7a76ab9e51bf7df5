"""Text in and out: a byte-level vocabulary and the corpora a run trains on.

Bytes are the tokens (0-255) and 256 begins a document, so any text file is a corpus and
every digit is one token, which the exact enumeration of a canary's slot
needs. The default corpus is Debian's ``fortunes`` (about 2.6 MB of quips,
one document per fortune); a user's own text file is split into paragraphs.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ExposureError

BOS = 256  # begins every document and canary (the first byte has a context); also fills padding, masked
VOCAB = 257
FORTUNES = Path("/usr/share/games/fortunes")


def encode(text: str) -> list[int]:
    return list(text.encode("utf-8"))


def decode(tokens) -> str:
    return bytes(t for t in tokens if t < 256).decode("utf-8", errors="replace")


def _fortune_documents(folder: Path) -> list[str]:
    docs = []
    for path in sorted(folder.iterdir()):
        if path.suffix or path.is_symlink() or not path.is_file():  # .dat indexes, .u8 links to the same text
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        docs += [d.strip() for d in text.split("\n%\n") if d.strip() and d.strip() != "%"]
    return docs


def read_corpus(path: str | Path | None = None) -> list[str]:
    """The documents of a corpus: Debian's fortunes by default (install with ``apt-get install fortunes``), a
    folder in the fortune format, or a text file split at blank lines."""
    path = Path(path) if path else FORTUNES
    if not path.exists():
        if path == FORTUNES:
            raise ExposureError(f"{FORTUNES} is missing: run 'apt-get install fortunes', or give --corpus FILE")
        raise ExposureError(f"{path} does not exist; give a text file or a folder of fortune files")
    if path.is_dir():
        docs = _fortune_documents(path)
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ExposureError(f"{path} is not UTF-8 text; give a plain text file") from None
        docs = [d.strip() for d in text.split("\n\n") if d.strip()]
    if not docs:
        raise ExposureError(f"{path} holds no text to train on; give a non-empty corpus")
    return docs
