from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask

from riskreg.review.heatcache import HeatmapCache, cache_for

KEY = "ab" + "0" * 62


def test_put_then_get_returns_the_same_bytes(tmp_path: Path) -> None:
    cache = HeatmapCache(tmp_path)
    assert cache.get(KEY, "png") is None
    cache.put(KEY, "png", b"\x89PNG picture")
    assert cache.get(KEY, "png") == b"\x89PNG picture"
    assert cache.get(KEY, "svg") is None
    assert cache.path(KEY, "png") == tmp_path / "ab" / f"{KEY}.png"


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    cache = HeatmapCache(tmp_path)
    cache.put(KEY, "svg", b"<svg/>")
    cache.put(KEY, "svg", b"<svg/>")  # a second process writing the same key replaces it whole
    assert [p.name for p in (tmp_path / "ab").iterdir()] == [f"{KEY}.svg"]


def test_failed_write_keeps_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = HeatmapCache(tmp_path)

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("riskreg.review.heatcache.os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        cache.put(KEY, "png", b"data")
    assert list((tmp_path / "ab").iterdir()) == []


def test_concurrent_writers_and_readers_only_ever_see_whole_files(tmp_path: Path) -> None:
    cache = HeatmapCache(tmp_path)
    body = bytes(range(256)) * 256
    seen: list[bytes | None] = []

    def write() -> None:
        for _ in range(20):
            cache.put(KEY, "png", body)

    def read() -> None:
        for _ in range(200):
            seen.append(cache.get(KEY, "png"))

    threads = [threading.Thread(target=write) for _ in range(3)] + [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {len(b) for b in seen if b is not None} <= {len(body)}


@pytest.mark.parametrize("key", ["../../etc/passwd", "AB" + "0" * 62, "ab" * 33, ""])
def test_only_hex_digests_name_files(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="cache key"):
        HeatmapCache(tmp_path).path(key, "png")
    with pytest.raises(ValueError, match="cache key"):
        HeatmapCache(tmp_path).path(KEY, "html")


def test_get_or_render_draws_once(tmp_path: Path) -> None:
    cache, calls = HeatmapCache(tmp_path), []

    def render() -> bytes:
        calls.append(1)
        return b"image"

    assert cache.get_or_render(KEY, "png", render) == (b"image", False)
    assert cache.get_or_render(KEY, "png", render) == (b"image", True)
    assert len(calls) == 1


def test_relative_folder_is_inside_the_instance_folder(tmp_path: Path) -> None:
    app = Flask("riskreg_test", instance_path=str(tmp_path / "instance"))
    app.config["HEATMAP_CACHE_DIR"] = "cache/heatmaps"
    assert cache_for(app).folder == tmp_path / "instance" / "cache" / "heatmaps"
    app.config["HEATMAP_CACHE_DIR"] = str(tmp_path / "shared")
    assert cache_for(app).folder == tmp_path / "shared"
