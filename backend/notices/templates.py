"""The notice copy and templates (``config/notices.yaml``) and the rules their values must obey.

WeChat template and subscribe messages use typed keys (``thing1``, ``character_string2``, ``time3``…):
since 2023-05-04 the official account drops first/remark lines, colours and emoji, shows each value
on one line of at most 20 characters and cuts longer ones; subscribe messages refuse them (47003).
So every value is made to fit here, before sending: no line breaks or control characters, no emoji,
and at most the type's length, cut with "…" so the meaning survives (``fit_value``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from config.settings import CONFIG_DIR

CHANNELS = ("wechat_template", "miniprogram_subscribe", "sms")

# Type → most characters (the WeChat docs' keyword value types).
TYPE_LIMITS = {"thing": 20, "character_string": 32, "number": 32, "letter": 32, "symbol": 5,
               "phrase": 5, "name": 10, "phone_number": 17, "car_number": 8, "amount": 11,
               "time": 25, "date": 25, "const": 20}
SMS_PARAM_LIMIT = 35  # Aliyun: a notice template variable of more is refused (isv.PARAM_LENGTH_LIMIT)
FORBIDDEN_KEYS = frozenset({"first", "remark"})
_KEY = re.compile(r"^([a-z_]+?)(\d+)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class TemplateError(ValueError):
    """A template definition breaks the rules (found when the file loads)."""


@lru_cache(maxsize=256)
def key_type(key: str) -> str:
    """The value type of a typed key (``thing2`` → ``thing``)."""
    m = _KEY.match(key)
    if not m or m.group(1) not in TYPE_LIMITS:
        raise TemplateError(f"template key {key!r} is not a typed key such as thing1 or time2")
    return m.group(1)


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0xFE00 <= cp <= 0xFE0F
            or cp == 0x200D or unicodedata.category(ch) == "So")


# Characters that are never emoji (printable ASCII, CJK ideographs, CJK and fullwidth punctuation):
# a value made of these only needs no look at each character (most values: case numbers, dates,
# Chinese words). tests/backend/notices/test_templates.py checks every one against ``_is_emoji``.
_PLAIN = re.compile(r"[\x20-\x7e\u4e00-\u9fff\u3001-\u3003\u3008-\u3011\uff01-\uff5e\u2026]*")


def clean_text(value: str) -> str:
    """One line, no control characters, no emoji, no surrounding spaces."""
    one_line = _CONTROL.sub(" ", value)
    if _PLAIN.fullmatch(one_line):
        return one_line.strip()
    return "".join(ch for ch in one_line if not _is_emoji(ch)).strip()


def fit(value: str, limit: int) -> str:
    """``value`` cleaned and cut to ``limit`` characters (the last one "…" when cut)."""
    text = clean_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# What each code-like type may hold (WeChat's "参数值内容限制"), as runs of allowed characters; other
# characters are dropped.
_ALLOWED = {
    "character_string": re.compile(r"[!-~]+"),  # digits, letters, symbols: no spaces, no Chinese
    "letter": re.compile(r"[A-Za-z]+"),
    "phone_number": re.compile(r"[0-9+\-() ]+"),
    "phrase": re.compile(r"[\u4e00-\u9fff]+"),  # Chinese characters only
}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_AMOUNT = re.compile(r"(?P<sym>[¥￥$€£]?)\s*(?P<num>\d{1,10}(?:\.\d{1,2})?)\s*(?P<yuan>元?)")
_ISO_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?")


def _keep(kind: str, text: str) -> str:
    return "".join(_ALLOWED[kind].findall(text))  # runs of allowed characters, not one match per character


def _time_words(text: str) -> str:
    """``2026-12-03T09:30…`` → ``2026年12月3日 09:30``; other text as it is."""
    m = _ISO_TIME.match(text)
    if not m:
        return text
    year, month, day, hour, minute = m.groups()
    date = f"{int(year)}年{int(month)}月{int(day)}日"
    return f"{date} {hour}:{minute}" if hour else date


def fit_value(key: str, value: str) -> str:
    """A value that obeys its typed key's rule (see the module doc)."""
    kind = key_type(key)
    text = clean_text(value)
    limit = TYPE_LIMITS[kind]
    if kind in _ALLOWED:
        text = _keep(kind, text).strip()
        return text[:limit]  # codes and phrases are cut, never given an ellipsis
    if kind == "number":
        m = _NUMBER.search(text.replace(",", ""))
        return m.group(0)[:limit] if m else ""
    if kind == "amount":
        m = _AMOUNT.search(text.replace(",", ""))
        return f"{m['sym']}{m['num']}{m['yuan']}" if m else ""
    if kind == "car_number":
        return text.replace(" ", "")[:limit]
    if kind in ("time", "date"):
        return _time_words(text)[:limit]
    return fit(text, limit)


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(pattern: str, params: dict[str, Any]) -> str:
    """``pattern`` with ``{name}`` replaced by the parameter (missing ones empty).

    ``str.format_map`` does what ``string.Formatter().vformat`` did, in C (it is called several times
    for every notice sent)."""
    return pattern.format_map(_Params(params))


@dataclass(frozen=True)
class ChannelTemplate:
    """One channel's template of a notice kind."""

    template_id: str
    fields: dict[str, str]
    page: str = ""

    def data(self, params: dict[str, Any]) -> dict[str, dict[str, str]]:
        """The template's ``data`` object, every value fitted to its key's type."""
        return {key: {"value": fit_value(key, render(pattern, params))}
                for key, pattern in self.fields.items()}

    def page_for(self, params: dict[str, Any]) -> str:
        return render(self.page, params) if self.page else ""


@dataclass(frozen=True)
class SmsTemplate:
    template_code: str
    params: dict[str, str]

    def values(self, params: dict[str, Any]) -> dict[str, str]:
        """The TemplateParam values (one line each, cut to the variable limit)."""
        return {k: fit(render(p, params), SMS_PARAM_LIMIT) for k, p in self.params.items()}


@dataclass(frozen=True)
class NoticeKind:
    name: str
    text: str
    urgent: bool = False
    brief: str = ""  # the notice in a few words (a line of the bot's progress answer); default: text
    wechat_template: ChannelTemplate | None = None
    miniprogram_subscribe: ChannelTemplate | None = None
    sms: SmsTemplate | None = None

    def channel(self, name: str) -> ChannelTemplate | SmsTemplate | None:
        return {"wechat_template": self.wechat_template, "miniprogram_subscribe": self.miniprogram_subscribe,
                "sms": self.sms}.get(name)


@dataclass(frozen=True)
class NoticeBook:
    """Everything in the notices file."""

    kinds: dict[str, NoticeKind]
    channels_default: tuple[str, ...]
    stage_words: dict[str, str]
    next_step_words: dict[str, str]
    words: dict[str, str] = field(default_factory=dict)
    channel_words: dict[str, str] = field(default_factory=dict)

    def kind(self, name: str) -> NoticeKind:
        if name not in self.kinds:
            raise TemplateError(f"no notice kind {name!r} in the notices file")
        return self.kinds[name]


def _channel(data: Any, where: str) -> ChannelTemplate | None:
    if data is None:
        return None
    fields = {str(k): str(v) for k, v in (data.get("fields") or {}).items()}
    bad = FORBIDDEN_KEYS & set(fields)
    if bad or "color" in data or "topcolor" in data:
        raise TemplateError(f"{where}: first/remark lines and colours are no longer shown: remove them")
    for key in fields:
        key_type(key)
    return ChannelTemplate(template_id=str(data["template_id"]), fields=fields,
                           page=str(data.get("page", "")))


def parse_book(data: dict[str, Any]) -> NoticeBook:
    """The notice book from the file's data; TemplateError on a rule broken."""
    kinds = {}
    for name, spec in (data.get("kinds") or {}).items():
        where = f"notices.kinds.{name}"
        sms = spec.get("sms")
        kinds[name] = NoticeKind(
            name=name, text=str(spec["text"]), urgent=bool(spec.get("urgent", False)),
            brief=str(spec.get("brief") or ""),
            wechat_template=_channel(spec.get("wechat_template"), f"{where}.wechat_template"),
            miniprogram_subscribe=_channel(spec.get("miniprogram_subscribe"),
                                           f"{where}.miniprogram_subscribe"),
            sms=SmsTemplate(str(sms["template_code"]), {str(k): str(v) for k, v in sms["params"].items()})
            if sms else None)
    default = tuple(data.get("channels_default") or CHANNELS)
    unknown = set(default) - set(CHANNELS)
    if unknown:
        raise TemplateError(f"notices.channels_default: unknown channels {sorted(unknown)}")
    words = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    return NoticeBook(kinds=kinds, channels_default=default,
                      stage_words={str(k): str(v) for k, v in (data.get("stage_words") or {}).items()},
                      next_step_words={str(k): str(v)
                                       for k, v in (data.get("next_step_words") or {}).items()},
                      words=words,
                      channel_words={str(k): str(v) for k, v in (data.get("channel_words") or {}).items()})


_READING = threading.Lock()


@lru_cache(maxsize=4)
def load_book(path: str = "") -> NoticeBook:
    """The notice book of ``path`` (default ``config/notices.yaml``), read once per process: the
    sending threads asking for it at once wait for one read (each read it again before)."""
    with _READING:
        return _read_book(path)


@lru_cache(maxsize=4)
def _read_book(path: str) -> NoticeBook:
    file = Path(path) if path else CONFIG_DIR / "notices.yaml"
    return parse_book(yaml.safe_load(file.read_text(encoding="utf-8")) or {})
