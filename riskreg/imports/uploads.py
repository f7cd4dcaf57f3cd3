"""Uploaded registers kept between the preview and the apply, in the instance folder, never in process memory.

Several app processes serve the same users, so the file and what the preview showed are stored on disk:
`<folder>/<token>.bin` (the bytes as uploaded) and `<token>.json` (unit, original file name, SHA-256,
sheet, column mapping, uploader, time, and the counts the user saw). The token is random and is the only
name used on disk: the original file name is data in the JSON, never part of a path (security.md G8).
Files older than a day are removed whenever a new upload arrives.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class StoredUpload:
    token: str
    unit_code: str
    file_name: str
    sha256: str
    uploader_id: int | None
    created: float
    sheet: str | None = None
    mapping: dict[str, str] | None = None
    counts: dict[str, int] = field(default_factory=dict)


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]


def is_token(text: str) -> bool:
    return bool(_TOKEN.fullmatch(text))


def store(folder: Path, data: bytes, upload: StoredUpload) -> StoredUpload:
    """Write the bytes and the description; both readable by the app's user only."""
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / f"{upload.token}.bin", data)
    save(folder, upload)
    return upload


def save(folder: Path, upload: StoredUpload) -> None:
    _write(folder / f"{upload.token}.json", json.dumps(asdict(upload), ensure_ascii=False).encode("utf-8"))


def with_counts(folder: Path, upload: StoredUpload, counts: dict[str, int]) -> StoredUpload:
    updated = replace(upload, counts=dict(counts))
    save(folder, updated)
    return updated


def load(folder: Path, token: str, *, claimed: bool = False) -> tuple[StoredUpload, bytes] | None:
    """The upload named by `token`, or None for a malformed, unknown, expired or damaged one.

    `claimed`: the upload as taken by `claim` for applying (the import job reads it there).
    """
    if not is_token(token):
        return None
    try:
        meta = json.loads((folder / f"{token}.{'claimed' if claimed else 'json'}").read_text(encoding="utf-8"))
        data = (folder / f"{token}.bin").read_bytes()
        upload = StoredUpload(
            token=token,
            unit_code=str(meta["unit_code"]),
            file_name=str(meta["file_name"]),
            sha256=str(meta["sha256"]),
            uploader_id=int(meta["uploader_id"]) if meta.get("uploader_id") is not None else None,
            created=float(meta["created"]),
            sheet=str(meta["sheet"]) if meta.get("sheet") else None,
            mapping={str(k): str(v) for k, v in meta["mapping"].items()} if meta.get("mapping") else None,
            counts={str(k): int(v) for k, v in (meta.get("counts") or {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if time.time() - upload.created > MAX_AGE_SECONDS:
        discard(folder, token)
        return None
    return upload, data


def claim(folder: Path, token: str) -> bool:
    """Take the upload for applying: True for exactly one caller, however many processes try at once.

    The description is renamed away (an atomic step), so a second Apply (a double click, another tab)
    finds no upload instead of applying it twice.
    """
    if not is_token(token):
        return False
    try:
        os.rename(folder / f"{token}.json", folder / f"{token}.claimed")
    except OSError:
        return False
    return True


def release(folder: Path, token: str) -> None:
    """Give a claimed upload back (the apply failed and wrote nothing): it can be applied again."""
    if is_token(token):
        with contextlib.suppress(OSError):
            os.rename(folder / f"{token}.claimed", folder / f"{token}.json")


def discard(folder: Path, token: str) -> None:
    if not is_token(token):
        return
    for suffix in (".bin", ".json", ".claimed"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def sweep(folder: Path, max_age: float = MAX_AGE_SECONDS, now: float | None = None) -> int:
    """Remove stored uploads older than `max_age` seconds (by file time); returns how many files went."""
    if not folder.is_dir():
        return 0
    limit = (time.time() if now is None else now) - max_age
    removed = 0
    for path in folder.iterdir():
        if path.suffix not in (".bin", ".json", ".claimed", ".tmp") or not is_token(path.stem.split(".")[0]):
            continue  # only what this module wrote
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except OSError:
            continue  # another process removed it first
    return removed


def _write(path: Path, data: bytes) -> None:
    # Written under a temporary name and renamed: another process never reads half a file.
    temporary = path.with_name(f"{path.stem}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
