"""The rules every template value obeys before it is sent (WeChat's typed keys since 2023-05-04), on the
code that builds a template's ``data`` (``ChannelTemplate.data``) and loads the templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.notices.templates import (
    TYPE_LIMITS,
    ChannelTemplate,
    TemplateError,
    fit_value,
    key_type,
    load_book,
    parse_book,
)


def _data(fields: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    built = ChannelTemplate(template_id="T1", fields=fields).data(params)
    assert all(set(v) == {"value"} for v in built.values())  # no per-field colour
    return {k: v["value"] for k, v in built.items()}


def test_a_thing_is_at_most_20_characters_cut_with_an_ellipsis() -> None:
    long = "材料齐了正在审核预计十二月三日前审核完毕请耐心等候谢谢您"
    value = _data({"thing2": "{stage}"}, {"stage": long})["thing2"]
    assert len(value) == 20 and value.endswith("…") and value[:19] == long[:19]
    assert _data({"thing2": "{stage}"}, {"stage": "已收到报案"})["thing2"] == "已收到报案"


@pytest.mark.parametrize("text", ["第一行\n第二行", "第一行\r\n第二行", "第一行\u2028第二行", "第一\t行\x00"])
def test_no_value_has_a_line_break_or_control_character(text: str) -> None:
    for key in ("thing1", "time2", "phrase3", "character_string4"):
        value = _data({key: "{v}"}, {"v": text})[key]
        assert not any(ord(ch) < 32 or ch in "\u2028\u2029" for ch in value), (key, value)


def test_emoji_are_dropped() -> None:
    assert _data({"thing1": "{v}"}, {"v": "赔款已到账😀👍"})["thing1"] == "赔款已到账"


def test_the_plain_characters_that_skip_the_emoji_check_are_never_emoji() -> None:
    """``clean_text`` looks at each character only when the value has one outside ``_PLAIN``: every
    character of that set must be one the per-character check keeps."""
    from backend.notices.templates import _PLAIN, _is_emoji, clean_text

    plain = [chr(cp) for cp in range(0x20, 0x3000_0) if _PLAIN.fullmatch(chr(cp))]
    assert len(plain) > 20_000 and "年" in plain and "☎" not in plain and "😀" not in plain
    assert [ch for ch in plain if _is_emoji(ch)] == []
    assert clean_text(" 案件LP0001 审核中（预计12月3日）… ") == "案件LP0001 审核中（预计12月3日）…"
    assert clean_text("审核中☎") == "审核中"  # one character outside the set: each one is checked


def test_a_character_string_holds_only_digits_letters_and_symbols_up_to_32() -> None:
    built = _data({"character_string1": "{no}"}, {"no": "LP-2026-000123"})
    assert built["character_string1"] == "LP-2026-000123"
    assert fit_value("character_string1", "案件LP 2026 7") == "LP20267"
    code = "A" * 40
    assert fit_value("character_string1", code) == "A" * 32  # cut, no ellipsis: a code stays a code


def test_a_phrase_is_at_most_five_chinese_characters() -> None:
    assert fit_value("phrase2", "已受理") == "已受理"
    assert fit_value("phrase2", "已受理OK!") == "已受理"
    assert fit_value("phrase2", "正在审核您的材料") == "正在审核您"
    assert len(fit_value("phrase2", "正在审核您的材料")) <= TYPE_LIMITS["phrase"]


def test_a_time_is_in_chinese_date_words_and_24_hours() -> None:
    assert fit_value("time2", "2026年12月3日 09:30") == "2026年12月3日 09:30"
    assert fit_value("time2", "2026-12-03T09:30:00+08:00") == "2026年12月3日 09:30"
    assert fit_value("date3", "2026-12-03") == "2026年12月3日"
    assert len(fit_value("time2", "2026年12月3日 09:30" * 3)) <= TYPE_LIMITS["time"]


@pytest.mark.parametrize(("raw", "expected"), [("1234", "1234"), ("12.50", "12.50"), ("共3件", "3"),
                                               ("1,234.5", "1234.5"), ("没有", "")])
def test_a_number_is_only_digits_with_an_optional_decimal(raw: str, expected: str) -> None:
    assert fit_value("number1", raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("¥1234.50", "¥1234.50"), ("1234.5元", "1234.5元"),
                                               ("赔款 ¥12,000.00", "¥12000.00"), ("约8000元整", "8000元")])
def test_an_amount_is_a_currency_sign_and_at_most_ten_digits(raw: str, expected: str) -> None:
    value = fit_value("amount3", raw)
    assert value == expected
    assert len(value.strip("¥元")) <= 13  # 10 digits, a point and 2 decimals


def test_keys_must_be_typed() -> None:
    assert key_type("thing12") == "thing" and key_type("character_string1") == "character_string"
    for key in ("keyword1", "first", "remark", "thing", "Thing1"):
        with pytest.raises(TemplateError):
            key_type(key)


@pytest.mark.parametrize("template", [
    {"template_id": "T", "fields": {"first": "您好", "thing1": "{stage}"}},
    {"template_id": "T", "fields": {"thing1": "{stage}", "remark": "谢谢"}},
    {"template_id": "T", "fields": {"thing1": "{stage}"}, "color": "#FF0000"},
    {"template_id": "T", "fields": {"thing1": "{stage}"}, "topcolor": "#FF0000"},
    {"template_id": "T", "fields": {"keyword1": "{stage}"}}])
def test_a_template_with_first_remark_colour_or_untyped_keys_does_not_load(template: dict[str, Any]) -> None:
    with pytest.raises(TemplateError):
        parse_book({"kinds": {"k": {"text": "x", "wechat_template": template}}})


def test_every_shipped_template_obeys_the_rules_with_long_values() -> None:
    """The shipped notices file, filled with values far too long: every value still fits its type."""
    book = load_book("")
    params = {name: "很长的内容\n" * 10 for name in (
        "case_no", "stage", "next_step", "note", "complaint_no", "date", "provisional", "visit_no", "when",
        "claims", "complaints")}
    for kind in book.kinds.values():
        for template in (kind.wechat_template, kind.miniprogram_subscribe):
            if template is None:
                continue
            for key, value in template.data(params).items():
                assert len(value["value"]) <= TYPE_LIMITS[key_type(key)], (kind.name, key)
                assert "\n" not in value["value"]
        if kind.sms is not None:
            assert all(len(v) <= 35 and "\n" not in v for v in kind.sms.values(params).values())


def test_the_book_is_read_once_when_many_threads_ask_at_once(tmp_path: Path, monkeypatch: Any) -> None:
    import threading

    import yaml

    from backend.notices import templates

    file = tmp_path / "notices.yaml"
    file.write_text((templates.CONFIG_DIR / "notices.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    reads: list[int] = []
    real = yaml.safe_load

    def counting(text: str) -> Any:
        reads.append(1)
        return real(text)

    monkeypatch.setattr(templates.yaml, "safe_load", counting)
    start = threading.Barrier(16)
    books: list[object] = []

    def ask() -> None:
        start.wait()
        books.append(templates.load_book(str(file)))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reads) == 1 and len({id(b) for b in books}) == 1
