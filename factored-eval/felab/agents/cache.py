"""Every chat request and its response, kept so a run replays bit for bit without the endpoint.

Content-addressed: a request (model, messages and sampling parameters: everything that shapes the answer, but not
the endpoint's address or key, so a local server on another port or a moved provider replays the same run) is
written as canonical JSON and hashed with SHA-256; the pair is stored as one JSON file named by that hash, in a
two-letter subfolder. Files are written beside their place and renamed into it, so an interrupted run leaves no
half-written entry; loading is ``json.load`` only (never pickle).

Providers retire model names (UCL's hard-coded gpt-4-1106-preview is gone); with the cache a finished run stays
reproducible after that, and a batch interrupted half way resumes from what was stored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..domain import BadInput
from ..files import write_atomic


def request_key(request: dict) -> str:
    """The SHA-256 of the request's canonical JSON (sorted keys, no spaces, UTF-8)."""
    canon = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


class ResponseCache:
    """A folder of ``<key[:2]>/<key>.json`` files, each ``{"key", "request", "response", "endpoint"}``."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, request: dict) -> dict | None:
        """The stored response to ``request``, or None. A stored entry for another request (a hash collision or
        a file edited by hand) is refused rather than replayed."""
        key = request_key(request)
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            entry = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise BadInput(f"{p}: a damaged cache entry ({e}); delete it to ask the endpoint again") from None
        if not isinstance(entry, dict) or entry.get("request") != request or not isinstance(entry.get("response"),
                                                                                             dict):
            raise BadInput(f"{p}: the cache entry does not hold this request; delete it to ask the endpoint again")
        return entry["response"]

    def put(self, request: dict, response: dict, endpoint: str = "") -> Path:
        key = request_key(request)
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        entry = {"key": key, "request": request, "response": response, "endpoint": endpoint}
        return write_atomic(p, json.dumps(entry, ensure_ascii=False, sort_keys=True))

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("??/*.json")) if self.folder.is_dir() else 0
