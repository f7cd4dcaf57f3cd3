"""The heatmap image cache: files named by the spec hash, shared by every app process through the file system.

A key is a content hash of everything that decides the picture (`heatmap.spec_hash`), so a file never goes
stale: new data gives a new key. Files are written to a temporary name in the same folder and moved into
place with `os.replace`, so a reader in another process sees either no file or the whole file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import Flask

FORMATS = ("png", "svg")
_KEY = re.compile(r"^[0-9a-f]{64}$")


class HeatmapCache:
    """Rendered heatmaps on disk under `folder/<first two hex digits>/<key>.<format>`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str, fmt: str) -> Path:
        # The key and format come from the URL: only a hex digest and a known suffix may name a file.
        if not _KEY.match(key) or fmt not in FORMATS:
            raise ValueError("not a heatmap cache key")
        return self.folder / key[:2] / f"{key}.{fmt}"

    def get(self, key: str, fmt: str) -> bytes | None:
        try:
            return self.path(key, fmt).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, key: str, fmt: str, data: bytes) -> None:
        target = self.path(key, fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=f".{fmt}", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get_or_render(self, key: str, fmt: str, render: Callable[[], bytes]) -> tuple[bytes, bool]:
        """(bytes, True) from the cache, or (bytes, False) freshly rendered and stored."""
        cached = self.get(key, fmt)
        if cached is not None:
            return cached, True
        data = render()
        self.put(key, fmt, data)
        return data, False


def cache_for(app: Flask) -> HeatmapCache:
    """The cache folder of `app`: HEATMAP_CACHE_DIR, relative to the instance folder unless absolute."""
    folder = Path(app.config["HEATMAP_CACHE_DIR"])
    if not folder.is_absolute():
        folder = Path(app.instance_path) / folder
    return HeatmapCache(folder)
