"""Text normalization: script, width, noise, numerals and dialect/homophone words.

Everything that is language data (traditional→simplified table, Teochew and
voice-input homophone maps) is read from ``config/nlu``; this module only holds
the mechanics. Order of steps (see docs/intents.md):

1. control / zero-width characters → space, NFKC (full-width → half-width)
2. traditional → simplified (character table ``t2s_chars.txt``)
3. a message that is only one meaningful emoji becomes its word (``emoji_message``: 👍 → 好);
   other emoji, WeChat ``[表情]`` codes removed; repeated punctuation collapsed
4. dialect and homophone replacements (``normalize.yaml``, longest match first;
   an entry mapping a word to itself protects it, e.g. ``无锡: 无锡``)
   and the sound-alike words voice input writes for them (``sound_alike``: 拔倒 → 跋倒 → 摔倒)
5. Chinese numerals inside numbers → digits (``三千五`` → ``3500``, ``1.5万`` → ``15000``); 廿 (20) only
   after a month or before a count or a day word (十月廿八 → 10月28, 廿八号 → 28号, 住院廿五日): a bare
   廿八 is the lunar day people say, and stays for :mod:`intents.lunar`
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from intents.wordre import words_pattern

_DIGITS = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4,
           "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_NUM_CHARS = "零〇一幺二两三四五六七八九十百千万亿"

# A numeral run must start with a digit or 十 (so 千万别/万一 are left alone).
_RE_CN_NUM = re.compile(r"[零〇一幺二两三四五六七八九十][零〇一幺二两三四五六七八九十百千万亿]*")
_UNIT_AFTER = ("岁", "周岁", "天", "块", "元", "号", "日", "月", "年", "个月", "周", "星期", "礼拜",
               "个星期", "个礼拜", "个钟", "次", "万", "千", "百", "多岁", "多天", "多块", "级")
# 廿 = 20 after a month (十月廿八 → 10月28) or before a count or a day word (廿八号, 住院廿五日); elsewhere
# (廿八跋倒) it names a day of the lunar month and stays as written
_RE_NIAN = re.compile(r"(?<=月)廿"
                      r"|廿(?=[一二三四五六七八九]?\s*(?:号|日|天|岁|多|几|块|元|个|来|年|次|万|千|百))")
# 洞 is how a zero is spoken when digits are dictated (幺三九 两六五洞, 幺二洞): read as 0 only inside a run
# of three or more digit words with at least two others (山洞, 洞口 stay as written)
_RE_DONG_RUN = re.compile(r"[零〇一幺二两三四五六七八九洞]{3,}")
# the X at the end of an ID number, spoken (…零五四叉 / 插 / 艾克斯): after 17 digits, in groups or not
_SPOKEN_X = frozenset("叉插差杈克")
_RE_SPOKEN_X = re.compile(r"((?<!\d)(?:\d\s?){16}\d)\s?(?:[叉插差杈]|艾克斯|爱克斯|埃克斯)")
_RE_DIGIT_MULT = re.compile(r"(\d+(?:\.\d+)?)\s*([万千])")
# variation selectors, zero-width joiner, skin tones: ignored when a whole message is one emoji
_RE_EMOJI_MODIFIERS = re.compile("[\U0000FE00-\U0000FE0F\U0000200D\U0001F3FB-\U0001F3FF]+")
_RE_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F900-\U0001F9FF"
    "\U00002B00-\U00002BFF\U0000FE00-\U0000FE0F\U0000200D\U000020E3\U0001F1E6-\U0001F1FF"
    "\U0000E000-\U0000F8FF\U0000FFFD]+"
)
_RE_WECHAT_FACE = re.compile(r"\[[\u4e00-\u9fff]{1,4}\]|/::?[a-zA-Z()<>|@$!*&~-]{1,3}")
_RE_PUNCT_RUN = re.compile(r"([!?,.;:~\-。，！？、；：…·—_*#=+])\1+")
_RE_PUNCT_MIX = re.compile(r"[!?？！]{2,}")
_RE_SPACES = re.compile(r"\s+")


def _is_control(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\u200d"


def cn_to_int(s: str) -> int | None:
    """Value of a Chinese numeral such as 七十八, 两千五, 一万五千, 二零二六; None if malformed."""
    if not s:
        return None
    if all(c in _DIGITS for c in s):
        if len(s) == 1:
            return _DIGITS[s]
        return int("".join(str(_DIGITS[c]) for c in s))
    total = 0
    section = 0
    number = 0
    last_unit = 1
    had_digit = False
    for c in s:
        if c in _DIGITS:
            number = _DIGITS[c]
            had_digit = True
        elif c in _SMALL_UNITS:
            unit = _SMALL_UNITS[c]
            section += (number if had_digit or unit != 10 else 1) * unit
            if not had_digit and unit != 10:
                return None
            number = 0
            had_digit = False
            last_unit = unit
        elif c in _BIG_UNITS:
            section += number
            total += section * _BIG_UNITS[c]
            section = 0
            number = 0
            had_digit = False
            last_unit = _BIG_UNITS[c]
        else:
            return None
    if had_digit:
        # colloquial 两千五 = 2500, 一万五 = 15000, 三百五 = 350
        if last_unit >= 100 and s[-2] not in "零〇" and s[-2] not in _DIGITS:
            number *= last_unit // 10
        section += number
    return total + section


def _replace_numeral(m: re.Match[str]) -> str:
    run = m.group(0)
    after = m.string[m.end(): m.end() + 3]
    has_unit = any(c in run for c in "十百千万亿")
    if run == "十" and after.startswith(("分", "足", "全")):  # 十分 = very
        return run
    if not has_unit:
        if len(run) >= 3:  # dictated digits: phone (一五八 二六三一 〇七四九), ID, year
            return "".join(str(_DIGITS[c]) for c in run)
        if len(run) == 1 and after.startswith(_UNIT_AFTER):
            if run == "一" and after.startswith(("号", "月")) and m.start() > 0 and m.string[m.start() - 1] in "第统唯":  # noqa: E501
                return run
            return str(_DIGITS[run])
        return run
    value = cn_to_int(run)
    if value is None:
        return run
    return str(value)


def _dong_as_zero(m: re.Match[str]) -> str:
    run = m.group(0)
    before = m.string[max(0, m.start() - 2):m.start()]  # 洞八幺五 洞洞三叉: a group of a number dictated
    dictated = any(c.isdigit() or c in _DIGITS for c in before)
    return run.replace("洞", "零") if len(run) - run.count("洞") >= (1 if dictated else 2) else run


def _replace_digit_mult(m: re.Match[str]) -> str:
    value = float(m.group(1)) * (10_000 if m.group(2) == "万" else 1000)
    return str(round(value))


def _pattern_for(key: str) -> str:
    """Regex for one replacement key; ASCII words only match as whole words."""
    if key.isascii() and key[:1].isalnum():
        return r"(?<![a-z0-9])" + re.escape(key) + r"(?![a-z0-9])"
    return re.escape(key)


def _sound_alike(table: dict[str, Any], repl: dict[str, str]) -> list[tuple[str, str]]:
    """Entries for the words voice input writes with a sound-alike character (``sound_alike``: 跋 as 拔
    in 跋倒 → 拔倒), each mapped to what the original word maps to (拔倒 → 摔倒)."""
    out: list[tuple[str, str]] = []
    for char, spec in table.items():
        for word in spec.get("in") or []:
            word = str(word)
            target = repl.get(word, word)
            out.extend((word.replace(str(char), str(alike)), target) for alike in spec.get("as") or [])
    return out


def _punct_mix(m: re.Match[str]) -> str:
    return "?" if ("?" in m.group(0) or "？" in m.group(0)) else "!"


class Normalizer:
    """Callable text normalizer configured from data files."""

    def __init__(
        self, t2s: dict[int, str], replacements: dict[str, str], whole: dict[str, str] | None = None,
        emoji_words: dict[str, str] | None = None,
    ) -> None:
        self._emoji_words = dict(emoji_words or {})
        table: dict[int, str] = dict(t2s)
        for ch in ("\u3000", "\xa0"):
            table[ord(ch)] = " "
        self._table = table
        self._repl = replacements
        # CJK keys as one trie (longest match first); ASCII keys as whole words
        cjk = [k for k in replacements if not (k.isascii() and k[:1].isalnum())]
        ascii_words = sorted((k for k in replacements if k.isascii() and k[:1].isalnum()),
                             key=lambda k: (-len(k), k))
        parts = ([words_pattern(cjk)] if cjk else []) + [_pattern_for(k) for k in ascii_words]
        self._whole = dict(whole or {})
        self._re_repl: re.Pattern[str] | None = re.compile("|".join(parts)) if parts else None

    @classmethod
    def load(cls, data_dir: Path) -> Normalizer:
        """Read ``t2s_chars.txt`` and ``normalize.yaml`` from *data_dir*."""
        t2s: dict[int, str] = {}
        with (data_dir / "t2s_chars.txt").open(encoding="utf-8") as fh:
            for line in fh:
                line = line.rstrip("\n")
                if len(line) == 2 and not line.startswith("#"):
                    t2s[ord(line[0])] = line[1]
        with (data_dir / "normalize.yaml").open(encoding="utf-8") as fh:
            raw: Any = yaml.safe_load(fh)
        repl: dict[str, str] = {}
        for section in ("protect", "teochew", "cantonese", "homophones", "english", "variants"):
            entries = raw.get(section) or {}
            if isinstance(entries, list):  # protect: plain word list
                entries = {w: w for w in entries}
            for k, v in entries.items():
                repl[str(k)] = str(v)
        for key, spec in _sound_alike(raw.get("sound_alike") or {}, repl):
            repl.setdefault(key, spec)
        whole = {str(k): str(v) for k, v in (raw.get("whole_message") or {}).items()}
        emoji = {str(k): str(v) for k, v in (raw.get("emoji_message") or {}).items()}
        return cls(t2s, repl, whole, emoji)

    def __call__(self, text: str) -> str:
        return self.normalize(text)

    def _emoji_word(self, text: str) -> str | None:
        """The word for a message made only of one meaningful emoji (👍 → 好, 🙏 → 谢谢), repeated or not;
        None otherwise (other emoji are removed like everywhere else)."""
        bare = _RE_EMOJI_MODIFIERS.sub("", text).replace(" ", "")
        if not bare or len(set(bare)) != 1:
            return None
        return self._emoji_words.get(bare[0])

    def normalize(self, text: str) -> str:
        """Return the normalized form of *text* (may be empty)."""
        if not text:
            return ""
        if not text.isprintable():
            text = "".join(" " if _is_control(c) else c for c in text)
        text = unicodedata.normalize("NFKC", text).translate(self._table)
        if self._emoji_words:
            word = self._emoji_word(text)
            if word is not None:
                return word
        text = _RE_EMOJI.sub("", text)
        text = _RE_WECHAT_FACE.sub(" ", text)
        text = text.lower()
        if "廿" in text:
            text = _RE_NIAN.sub("二十", text)
        if self._re_repl is not None:
            repl = self._repl
            text = self._re_repl.sub(lambda m: repl[m.group(0)], text)
        if "洞" in text:
            text = _RE_DONG_RUN.sub(_dong_as_zero, text)
        if any(c in _NUM_CHARS for c in text):
            text = _RE_CN_NUM.sub(_replace_numeral, text)
        if "万" in text or "千" in text:
            text = _RE_DIGIT_MULT.sub(_replace_digit_mult, text)
        if not _SPOKEN_X.isdisjoint(text):
            text = _RE_SPOKEN_X.sub(r"\1x", text)
        text = _RE_PUNCT_MIX.sub(_punct_mix, text)
        text = _RE_PUNCT_RUN.sub(r"\1", text)
        text = _RE_SPACES.sub(" ", text).strip()
        return self._whole.get(text, text)
