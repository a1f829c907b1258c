"""Each test starts with a full bulk-API call budget.

The budget (50 calls a minute per client account) is shared by every runtime in a process, as
Adobe's limit is; across tests it would carry over, and a test after the standard suite's many
batch calls would wait the rest of the minute for its first one."""

from __future__ import annotations

import pytest

from destkit.destinations.adobe_target import update_profiles_batch


@pytest.fixture(autouse=True)
def _fresh_call_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(update_profiles_batch, "_budgets", {})
