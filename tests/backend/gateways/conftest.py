from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_wechat import FakeWechat


@pytest.fixture
def fake_wechat() -> Iterator[FakeWechat]:
    fake = FakeWechat().start()
    yield fake
    fake.stop()
