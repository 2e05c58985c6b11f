"""Shared by the role tests (imported as tests.auth.roles_helpers)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
AUTH = {"redirect_uri": "http://localhost:8601/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "wb", "client_secret": "s",
        "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration"}


def navigation(at) -> set[str]:
    """The page files st.navigation registered in the last run (what the sidebar offers)."""
    return {Path(str(info["script_path"])).stem for info in at._registered_pages.values()
            if info.get("script_path")}
