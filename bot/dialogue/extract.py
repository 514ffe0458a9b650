"""Values found in free text, for answers given out of order or inside a long message: a person's
name, a hospital, an address, every mobile number, an ID-like digit run, a lunar date.

Names, hospitals and addresses are read from the customer's own words in simplified characters
(:meth:`Extractor.plain`: the NLU's normalized text replaces dialect words, and 李阿婆 must stay 李阿婆);
numbers and dates from the NLU's normalized text (numerals in digits). Each reader returns None when
the text holds nothing that looks right: an answer is checked for what it should be before it is
stored. Word lists come from the copy file (``config/dialogue.yaml``, section ``extract``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from lunardate import LunarDate

from backend.roster.idcard import InvalidIdNumber, validate_id_number
from bot.dialogue.hospitals import official_name
from config.settings import CONFIG_DIR

_CJK = "\u4e00-\u9fff"
_RE_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_RE_DIGIT_GAP = re.compile(r"(?<=[\dxX])[\s\-—]+(?=[\dxX])")
# a mobile number, spaced or dictated in groups (138 1234 5678, 189,2273,0516)
_RE_PHONE_SPACED = re.compile(r"(?<![\d])(1[3-9]\d(?:[\s\-—,、]?\d){8})(?![\d])")
_RE_PHONE_SEP = re.compile(r"[\s\-—,、]")
# an ID number in groups of digits (the phone search must not read one inside it)
_RE_GROUPED_ID = re.compile(r"(?<![\d])\d(?:[\s\-—]?\d){16}[\s\-—]?[\dxX](?![\dxX])")
_RE_ID_RUN = re.compile(r"(?<![\d])(\d{14,19}[xX]?)(?![\dxX])")
_RE_LUNAR_MD = re.compile(r"(农历|阴历|旧历)?\s*(正|冬|腊|\d{1,2})月\s*(初\d{1,2}|\d{1,2})\s*(?:日|号)?")
_RE_LUNAR_DAY = re.compile(r"(农历|阴历|旧历)?\s*初(\d{1,2})")
_RE_LUNAR_BARE_DAY = re.compile(r"(农历|阴历|旧历)\s*(\d{1,2})(?![\d月])")
_RE_LUNAR_REL = re.compile(r"(农历|阴历|旧历)?\s*(上个?月|这个?月|本月)\s*(初\d{1,2}|\d{1,2})(?![\d月])")
_RE_NAME_AGE = re.compile(  # 庄振兴，88岁: a name, then an age
    r"(?:^|[，,。\s])([\u4e00-\u9fff]{2,4})[，,\s]*(?:\d{2,3}|[六七八九]十[一二三四五六七八九]?)岁")
_RE_TOKEN = re.compile(r"([\u4e00-\u9fff]{2,4})(?=$|[\s,，。.!！?？、])")
_RE_NAME_FIX = re.compile(r"(?:唔是|不是|不对|讲错|说错|打错|写错)[了啦，,。\s]*(?:是)?")
_HARD_STOP = frozenset("的了在是他她我你和跟那这就也都说讲叫被住岁摔跌吗呢吧啊呀哦嘛啦么没不很去到给把让从要")
_SELF_CUES = ("我是", "阮是")  # the writer names themself
_TITLES = frozenset({"医生", "小姐", "先生", "女士", "生", "太", "伯", "叔", "姨", "婶", "姐", "哥"})
_RE_NAME_OF = re.compile(r"(?:我|阮)(?:是|系)([\u4e00-\u9fff]{2,3})(?:的|个|嘅)"
                         r"(?:外?孙|女儿|儿子|仔|新妇|媳妇|女婿|侄|外甥|邻居|老伴|老婆|老公|契)")
_RE_TITLE_AFTER = re.compile(r"阿姨|阿伯|阿婶|阿姆|阿叔|阿舅|阿公|阿嬷|阿婆|伯母|婶婶")
_RE_REL_NIAN = re.compile(r"(?:上个?月|这个?月|本月)\s*廿")
_CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_RE_CN_LUNAR_DAY = re.compile(r"(初|廿|二十|三十|十)([一二三四五六七八九十]?)")

# one character spelled out: 耳东郑, 双木林, 火字旁的炳, 木头的木, 坤是土字旁的坤
_RE_SPELLED = re.compile(r"(?:^|[\s，,、])(?:[\u4e00-\u9fff]是)?(?:[\u4e00-\u9fff]{1,4}的|"
                         r"耳东|弓长|口天|立早|木子|双木|古月|[\u4e00-\u9fff]{1,3}字[边旁头底](?:一个)?)([\u4e00-\u9fff])(?=[\s，,。、]|$)")


def _blank_id(m: re.Match[str]) -> str:
    """An ID number (valid check digit) blanked out; any other run of 18 digits kept."""
    digits = _RE_PHONE_SEP.sub("", m.group(0)).upper()
    try:
        validate_id_number(digits)
    except InvalidIdNumber:
        return m.group(0)
    return " " * len(m.group(0))


def _cn_lunar_days(text: str) -> str:
    """初五 → 初5, 廿八 → 28, 十五 → 15 (the NLU leaves some lunar days in Chinese numerals)."""
    def one(m: re.Match[str]) -> str:
        head, unit = m.group(1), _CN_NUM.get(m.group(2), 0)
        if head == "初":
            return f"初{unit}" if unit else m.group(0)
        base = {"廿": 20, "二十": 20, "三十": 30, "十": 10}[head]
        return str(base + (unit if unit < 10 else 0))
    return _RE_CN_LUNAR_DAY.sub(one, text)
_LUNAR_MONTH = {"正": 1, "冬": 11, "腊": 12}
_RE_NOT_PLACE = re.compile(r"^[我你他她伊阮佢恁汝您]|讲|说|知道|识|问|电话")
_RE_ADDRESS_ONLY = re.compile(rf"[{_CJK}\d\s号]+")
# "是我自己 郭惠娟", "本人，陈阿娇": who it is before the bare name
_RE_ME_NAME = re.compile(r"^(?:我|阮)\s*([\u4e00-\u9fff]{2,3})(?=[\s,，。.!！]|$)")
_RE_SELF_LEAD = re.compile(r"^(?:就是|是|就系|系)?(?:我自己|我本人|本人|自己|阮自己|阮本人|我自家)"
                           r"[\s,，。.!！、]+")
_NAME_END_OK = "和同跟来时"  # stop characters in running text, but ends of names (姚德和)
_RE_LIVES = re.compile(r"(?:住在|家住|家在|厝在|屋企在|地址是|地址|(?<!入)住(?![了院进过的]))\s*[:：]?\s*"
                       rf"([{_CJK}\d]{{2,20}})")


@dataclass(frozen=True, slots=True)
class LunarDay:
    """A day named in the lunar calendar (month None: this lunar month); ``explicit``: 农历 was said."""

    month: int | None
    day: int
    explicit: bool
    back: int = 0  # 农历上个月廿八: a lunar month before this one

    def solar(self, today: dt.date, *, future: bool = False) -> dt.date | None:
        """The solar date: the latest one not after ``today`` (or the next one from today). A day with
        no month is of this lunar month (``back`` months before), else of the month before it."""
        here = LunarDate.from_solar_date(today.year, today.month, today.day)
        step = 1 if future else -1
        if self.month is not None:
            candidates = [(here.year + step * k, self.month) for k in range(2)]
        else:
            months = [here.year * 12 + here.month - 1 + step * k for k in range(self.back, self.back + 2)]
            candidates = [(m // 12, m % 12 + 1) for m in months]
        for year, month in sorted(set(candidates), reverse=not future):
            try:
                day: dt.date = LunarDate(year, month, self.day).to_solar_date()
            except ValueError:
                continue
            if (day >= today) if future else (day <= today):
                return day
        return None


def lunar_label(day: dt.date) -> str:
    """A solar date as the lunar day people say: 十月廿五, 正月初三, 腊月廿八."""
    ld = LunarDate.from_solar_date(day.year, day.month, day.day)
    months = ["正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
    return f"{'闰' if ld.is_leap_month else ''}{months[ld.month - 1]}月{_lunar_day_name(ld.day)}"


def cn_date(iso: str, *, lunar: bool = False) -> str:
    """2026年12月3日, with the lunar day (农历十月廿五) when the customer counted that way."""
    day = dt.date.fromisoformat(iso)
    text = f"{day.year}年{day.month}月{day.day}日"
    return f"{text}（农历{lunar_label(day)}）" if lunar else text


def _lunar_day_name(n: int) -> str:
    digits = "一二三四五六七八九十"
    if n <= 10:
        return "初" + digits[n - 1]
    if n < 20:
        return "十" + digits[n - 11]
    if n == 20:
        return "二十"
    if n < 30:
        return "廿" + digits[n - 21]
    return "三十"


class Extractor:
    """The readers, configured once from the copy file's ``extract`` section."""

    def __init__(self, table: dict[str, Any], *, t2s_path: Any = None) -> None:
        path = t2s_path or CONFIG_DIR / "nlu" / "t2s_chars.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
        self._t2s = {ord(line[0]): line[1] for line in lines if len(line) >= 2 and not line.startswith("#")}
        self.surnames = frozenset(s.translate(self._t2s) for s in str(table["surnames"]).split()) | frozenset(
            str(table["surnames"]).split())  # 蕭 and 萧: names are read from the simplified text
        self.compound_surnames = tuple(str(w) for w in table.get("compound_surnames") or [])
        self.not_given = frozenset(str(table["not_in_given_name"]))
        self.not_names = tuple(str(w) for w in table.get("not_names") or [])
        self.care_places = tuple(str(w) for w in table["care_places"])
        self.hospital_cut = frozenset(str(table["hospital_cut"]))
        self.place_homophones = {str(k): str(v) for k, v in (table.get("place_homophones") or {}).items()}
        self.hospital_generic = tuple(str(w) for w in table.get("hospital_generic") or [])
        self.address_words = tuple(str(w) for w in table["address_words"])
        self.towns = tuple(str(w) for w in table.get("towns") or ())
        self.hospital_names = {str(k): list(map(str, v)) for k, v in table.get("hospital_names", {}).items()}
        self.name_cues = tuple(str(w) for w in table["name_cues"])
        self.person_words = tuple(sorted((str(w) for w in table["person_words"]), key=len, reverse=True))

    def plain(self, text: str) -> str:
        """The customer's words in simplified characters (nothing else changed)."""
        return unicodedata.normalize("NFKC", text).translate(self._t2s)

    @cached_property
    def _re_cue_name(self) -> re.Pattern[str]:
        cues = "|".join(map(re.escape, sorted(self.name_cues, key=len, reverse=True)))
        # a lookahead: the matches may overlap (她名叫黄淑贞: 她名 is tried, then 名叫)
        return re.compile(rf"(?=(?:{cues})\s*[:：]?\s*([{_CJK}]{{2,4}}))", re.IGNORECASE)  # His Name is …

    @cached_property
    def _re_person_name(self) -> re.Pattern[str]:
        words = "|".join(map(re.escape, self.person_words))
        # a lookahead, as above: 我爸爸郭永清 tries 我爸 (爸郭…, no name), then 爸爸; 阿妈 林玉珠: a space
        return re.compile(rf"(?=(?:{words})[ \t]?([{_CJK}]{{2,4}}))")

    @cached_property
    def _care_places_longest_first(self) -> tuple[str, ...]:
        return tuple(sorted(self.care_places, key=len, reverse=True))

    @cached_property
    def _re_address(self) -> re.Pattern[str]:
        return re.compile(rf"([{_CJK}\d]{{2,20}}?(?:{'|'.join(self.address_words)}))")

    @cached_property
    def _re_hospital(self) -> re.Pattern[str]:
        places = "|".join(map(re.escape, sorted(self.care_places, key=len, reverse=True)))
        return re.compile(rf"([{_CJK}]{{0,16}}?(?:{places}))")

    # ---------------------------------------------------------------- names
    def _name_from(self, chunk: str) -> str | None:
        """A surname and a given name of one or two characters at the start of ``chunk``."""
        surname = next((s for s in self.compound_surnames if chunk.startswith(s)), None)
        if surname is None and chunk[:1] in self.surnames:
            surname = chunk[:1]
        if surname is None:
            return None
        given = ""
        for ch in chunk[len(surname):len(surname) + 2]:
            if (ch in self.not_given and given != "阿") or not ("\u4e00" <= ch <= "\u9fff"):
                break  # (吴阿九: after 阿 a numeral is the name)
            given += ch
        name = surname + given
        if not given or any(name.startswith(w) for w in self.not_names):
            return None
        return name

    def name(self, norm: str, *, whole: bool = False) -> str | None:
        """A personal name said in ``norm`` (他叫林美玉, 我妈林秀珠, 阿婆叫黄玉娥); ``whole``: the
        text may also be the bare name (an answer to "老人叫什么名字")."""
        fix = _RE_NAME_FIX.search(norm)  # 伊叫吴锦标 哦唔是 吴锦彪: the name after the correction
        later = self.name(norm[fix.end():], whole=True) if fix and fix.start() > 0 else None
        if later and fix and self.name(norm[:fix.start()], whole=whole):
            return later
        for m in self._re_cue_name.finditer(norm):
            found = self._name_from(m.group(1))
            token = _RE_TOKEN.match(norm, m.start(1))  # 我阿爸叫陈德和 我是伊仔: the name up to the space
            if token and len(token.group(1)) == 3 and (self._bare_name(token.group(1)) if found
                                                      else self._whole_token_name(token.group(1))):
                found = token.group(1)  # (伊叫郭来发 八十三岁: 来 in a name said whole)
            if found and norm[m.start():m.start(1)].rstrip(" :：") in _SELF_CUES and (
                    not self._self_named(found) or self._about_other(norm)):
                continue  # 我是陈店的, 我是林医生: no name; 我是陈大明，我阿爸…: the writer's
            if found:
                return self._respelled(found, norm[m.start(1) + len(found):])
        for m in self._re_person_name.finditer(norm):
            found = self._name_from(m.group(1))
            token = _RE_TOKEN.match(norm, m.start(1))  # 老伴 姚德和: the name alone after who it is
            if token and (self.is_name(token.group(1)) or self._bare_name(token.group(1))):
                found = token.group(1)
            if found:
                return self._respelled(found, norm[m.start(1) + len(found):])
        me = _RE_ME_NAME.match(norm)  # 我黄丽卿 跋倒: the writer's name after 我, alone before a space
        if me and self.is_name(me.group(1)):
            return me.group(1)
        for m in _RE_NAME_AGE.finditer(norm):  # 庄振兴，88岁，前天…: a name with its age
            if self.is_name(m.group(1)) or self._bare_name(m.group(1)):
                return m.group(1)
        for m in _RE_NAME_OF.finditer(norm):  # 我是王金花的外孙女: the insured named by the writer
            if self.is_name(m.group(1)):
                return m.group(1)
        for m in _RE_TITLE_AFTER.finditer(norm):  # 林淑贞阿姨昨天跋倒: the name before a title
            for size in (3, 2):
                found = norm[max(0, m.start() - size):m.start()]
                if len(found) == size and self.is_name(found):
                    return found
        if whole:  # 郭惠娟 / 是我自己 郭惠娟 / 老伴 姚德和: the bare name, maybe after who it is
            chunks = re.split(r"[\s,，。.!！?？、:：]+", _RE_SELF_LEAD.sub("", norm.strip()).strip())
            tries = chunks[:2] if len(chunks) <= 3 and len(chunks[0]) <= 6 else chunks[:1]
            for chunk in tries:
                if len(chunk) >= 3 and chunk[0] in "是系" and self.is_name(chunk[1:]):
                    chunk = chunk[1:]  # 字打错，是郑瑞珠: the name meant
                if self.is_name(chunk) or self._bare_name(chunk) or self._whole_token_name(chunk):
                    return chunk
        return None

    def _self_named(self, found: str) -> bool:
        """True when what follows 我是 / 阮是 can be the writer's own name: no town, no title."""
        return not (any(found.startswith(t) for t in self.towns) or found[1:] in _TITLES)

    def _about_other(self, norm: str) -> bool:
        """True when the message names a relative (我是陈大明，我阿爸跋倒: the name is the writer's)."""
        return any(w in norm for w in self.person_words)

    @staticmethod
    def self_first(text: str) -> bool:
        """True when ``text`` starts by saying it is the writer (是我自己 郭惠娟)."""
        return bool(_RE_SELF_LEAD.match(text.strip()))

    def _bare_name(self, chunk: str) -> bool:
        """A whole answer of three characters that is a surname and a given name whose last character
        is one a phrase would stop at (姚德和, 林金同): only when the answer is the name alone."""
        return (len(chunk) == 3 and chunk[0] in self.surnames and chunk[2] in _NAME_END_OK
                and self._name_from(chunk) == chunk[:2]
                and not any(chunk.startswith(w) for w in self.not_names))

    def _whole_token_name(self, chunk: str) -> bool:
        """Three characters said alone after 叫 (or as the whole answer): a surname and a given name
        even when a given character is one a phrase would stop at (郭来发, 林刚强), unless it is a word
        no name holds (的, 了, 在 …)."""
        return (len(chunk) == 3 and chunk[0] in self.surnames and not _HARD_STOP.intersection(chunk[1:])
                and not any(chunk.startswith(w) for w in self.not_names)
                and not any(chunk.startswith(t) for t in self.towns))

    def _respelled(self, name: str, after: str) -> str:
        """The name as its characters are spelled out after it (郑炳昆 耳东郑 火字旁的炳 坤是土字旁的坤 →
        郑炳坤: voice input picks a homophone, the spelling says which character), when every
        character is spelled."""
        chars = "".join(m.group(1) for m in _RE_SPELLED.finditer(after))
        if len(chars) == len(name) and chars != name and self._name_from(chars) == chars:
            return chars
        return name

    def is_name(self, text: str) -> bool:
        """True when ``text`` is just a personal name."""
        return 2 <= len(text) <= 4 and self._name_from(text) == text

    # ---------------------------------------------------------------- places
    def hospital(self, norm: str, *, last: bool = False) -> str | None:
        """The place of care named in ``norm`` (住在潮南区人民医院 → 潮南区人民医院); ``last``: the
        last one named (在A医院 哦不是 转去B医院了 → B医院)."""
        found = None
        norm = self._place_spelled(norm)  # 潮南区人民一院: what voice input made of 人民医院
        for m in self._re_hospital.finditer(norm):
            run = m.group(1)
            cut = max((i for i, ch in enumerate(run) if ch in self.hospital_cut), default=-1)
            run = run[cut + 1:]
            suffix = next(p for p in self._care_places_longest_first if run.endswith(p))
            if len(run) - len(suffix) >= 2 and not any(run.startswith(g) for g in self.hospital_generic):
                run = official_name(self._place_spelled(run), self.hospital_names, self.towns)
                if not last:
                    return run
                found = run
        return found

    def _place_spelled(self, place: str) -> str:
        """A district place name as written (朝南区人民医院 → 潮南区人民医院: voice input's homophones)."""
        for heard, written in self.place_homophones.items():
            place = place.replace(heard, written)
        return place

    def is_care_place(self, norm: str) -> bool:
        """True when the text names any place of care (医院, 卫生院, 诊所...)."""
        return any(p in norm for p in self.care_places)

    def names_care_place(self, text: str) -> bool:
        """True when a short answer is the name of a place of care (潮南区人民医院, 镇卫生院啊): it ends
        with 医院, 卫生院... once trailing particles are dropped; 医院头先讲过了 does not."""
        bare = re.sub(r"[\s了啊呀的吧啦嘛喔哦。，,.!！~]+$", "", text)
        return len(bare) <= 30 and any(bare.endswith(p) for p in self.care_places)

    def address(self, norm: str) -> str | None:
        """An address or place of living (住在胪岗镇, 住司马浦, 井都镇神山村) in ``norm``."""
        m = _RE_LIVES.search(norm)
        if m and not self.is_care_place(m.group(1)):
            place = re.split(r"[\d一二三四五六七八九十两几]{2}|\d", m.group(1))[0]
            if len(place) >= 2 and not _RE_NOT_PLACE.search(place):  # 地址我阿妈识讲: no address
                return place
        m = self._re_address.search(norm)
        if m and not self.is_care_place(norm) and not self.hospital(norm) \
                and not _RE_NOT_PLACE.search(m.group(1)):  # 我们村有个阿伯: no address
            return m.group(1)
        bare = norm.strip()
        if (2 <= len(bare) <= 30 and any(w in bare for w in self.address_words)
                and _RE_ADDRESS_ONLY.fullmatch(bare) and not self.is_care_place(bare)):
            return bare
        return None

    # ---------------------------------------------------------------- numbers
    @staticmethod
    def phones(norm: str) -> list[str]:
        """Every mobile number in ``norm`` (spaces and dashes inside a number allowed), in order; never
        one read inside an ID number dictated in groups (440514 1939 1127 088x)."""
        if len(norm) >= 18 and _RE_GROUPED_ID.search(norm):
            norm = _RE_GROUPED_ID.sub(_blank_id, norm)
        return [_RE_PHONE_SEP.sub("", m) for m in _RE_PHONE_SPACED.findall(norm)]

    @staticmethod
    def id_like(norm: str) -> str | None:
        """A digit run that was meant as an ID number (14 to 19 characters), not yet validated."""
        joined = _RE_DIGIT_GAP.sub("", norm)
        for m in _RE_ID_RUN.finditer(joined):
            run = m.group(1)
            if not _RE_PHONE.fullmatch(run):
                return run.upper()
        return None

    # ---------------------------------------------------------------- lunar dates
    @staticmethod
    def lunar(norm: str) -> LunarDay | None:
        """A lunar month and day (农历10月25, 初五); None when none is named."""
        nian = bool(_RE_REL_NIAN.search(norm))  # 上个月廿三: 廿 is how a lunar day is written
        norm = _cn_lunar_days(norm)
        r = _RE_LUNAR_REL.search(norm)  # 农历上个月廿八, 这个月初三
        if r and (r.group(1) or r.group(3).startswith("初") or nian):
            day = int(r.group(3).lstrip("初"))
            if 1 <= day <= 30:
                back = 1 if r.group(2).startswith("上") else 0
                return LunarDay(None, day, explicit=bool(r.group(1)), back=back)
        m = _RE_LUNAR_MD.search(norm)
        if m:
            raw_month, raw_day = m.group(2), m.group(3)
            month = _LUNAR_MONTH.get(raw_month) or int(raw_month)
            day = int(raw_day[1:]) if raw_day.startswith("初") else int(raw_day)
            explicit = bool(m.group(1)) or raw_day.startswith("初")  # 十月初八: 初 days are lunar only
            if 1 <= month <= 12 and 1 <= day <= 30:
                return LunarDay(month, day, explicit=explicit)
        d = _RE_LUNAR_DAY.search(norm)
        if d and 1 <= int(d.group(2)) <= 10:
            return LunarDay(None, int(d.group(2)), explicit=bool(d.group(1)))
        d = _RE_LUNAR_BARE_DAY.search(norm)  # 农历廿八 (no month): this lunar month or the last
        if d and 1 <= int(d.group(2)) <= 30:
            return LunarDay(None, int(d.group(2)), explicit=True)
        return None
