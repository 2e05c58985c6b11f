"""Fixtures of the contracts tests (the store they share is built in agreement_store.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.contracts.agreement_store import build


@pytest.fixture
def store(engine: Engine) -> Engine:
    """checkout with a 60-minute third-party outage (3 Nov 2026) and a 30-minute internal one."""
    return build(engine)
