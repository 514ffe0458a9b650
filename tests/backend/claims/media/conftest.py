"""The media-fetch tests use the notices' fakes and clock (the fake WeChat API serves the media)."""

from tests.backend.notices.conftest import (  # noqa: F401
    clock,
    ctx,
    fake_sms,
    fake_wechat,
    only_this_tests_jobs,
    services,
)
