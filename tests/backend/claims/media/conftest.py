"""The media-fetch tests use the notices' fakes and clock (the fake WeChat API serves the media), and a
local file store in the job context."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from backend.hooks import JobContext
from backend.security.crypto import FieldCipher
from backend.storage import LocalFileStore
from tests.backend.notices.conftest import (  # noqa: F401
    clock,
    ctx,
    fake_sms,
    fake_wechat,
    only_this_tests_jobs,
    services,
)


@pytest.fixture
def store(tmp_path: Path, cipher: FieldCipher) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files", cipher)


@pytest.fixture
def media_ctx(ctx: JobContext, store: LocalFileStore) -> JobContext:  # noqa: F811  (the imported fixture)
    return dataclasses.replace(ctx, services={**ctx.services, "storage": store})
