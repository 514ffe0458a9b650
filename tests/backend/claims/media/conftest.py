"""The media-fetch tests use the notices' fakes and clock (the fake WeChat API serves the media)."""

from tests.backend.notices.conftest import clock, ctx, fake_sms, fake_wechat, services  # noqa: F401
