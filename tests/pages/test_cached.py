"""ui.cached: a page's cache lives until the store's data version changes, not for a time."""

from __future__ import annotations

from analytics import ui


def test_cached_result_lives_until_the_data_version_changes(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(ui, "version", lambda: "v1")

    @ui.cached
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls == [3, 4]  # the second square(3) came from the cache
    monkeypatch.setattr(ui, "version", lambda: "v2")  # an import changed the store
    assert square(3) == 9
    assert calls == [3, 4, 3]
    square.clear()

