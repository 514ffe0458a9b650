"""Customer-facing Chinese copy of the roster domain (short, plain: our users are elderly)."""

from __future__ import annotations

ELIGIBLE = "您在保障名单里，已经有保障（{start}起）。"
NOT_FOUND = "保障名单里没有查到这个身份证号。请核对号码，或联系客服。"
UNDER_AGE = "您还没满{min_age}周岁，{start}起会自动有保障。"
NOT_STARTED = "您在保障名单里，{start}起有保障。"
OUTSIDE_DISTRICT = "户籍不在{districts}，不在这项保险的保障范围。"
