"""Fixtures of the topics tests."""

from __future__ import annotations

import pytest

from tests.forum import create_board


@pytest.fixture
async def board(api):
    return await create_board(api, "beauty")
