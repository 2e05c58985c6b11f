"""Settings are declared once and every one is documented in the README (the datasette rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.settings import SETTINGS, get_settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_documented(setting):
    assert f"`{setting.env}`" in README


def test_settings_read_the_environment():
    s = get_settings({"DATABASE_URL": "sqlite:////tmp/x.db", "WORKBENCH_WINDOW_HOURS": "24",
                      "WORKBENCH_TIMEZONE": "Europe/Amsterdam", "WORKBENCH_USER": "ana"})
    assert (s.database_url, s.window_hours, s.timezone, s.user) == ("sqlite:////tmp/x.db", 24.0,
                                                                    "Europe/Amsterdam", "ana")
    default = get_settings({})
    assert default.database_url.endswith("data/workbench.db") and default.window_hours == 48.0
