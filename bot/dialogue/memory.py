"""What the customer told so far in the conversation, so nothing said once is asked again.

Every text turn is read for facts (who, when, what happened, hospital, name, phone, address,
death, stay, days, exclusions, household registration) before it is routed; a flow that starts
later takes them from here (``state.notes``; private values encrypted in ``state.secret``). A fact
said once stays; a later message replaces it only when it corrects itself (不是我爸 是我老伴) or,
for the latest-wins facts (relation, name, phone), when it names another.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from backend.security.masking import scrub_text
from bot.dialogue import cover_start, fixes
from bot.dialogue.context import Turn
from intents.dates import read_date

REPORT_KEYS = ("relation", "date", "date_lunar", "lunar_pending", "accident", "transport", "death",
               "hospital", "stay", "days", "description", "exclusions")
SECRET_KEYS = ("name", "phone", "address")
_DESCRIPTION_MAX = 600


def remember(turn: Turn) -> None:
    """Read this message's facts into the conversation's notes (``turn.noted``: what changed)."""
    notes = turn.state.notes
    slots = turn.pred.slots or {}
    norm = turn.norm
    corrected = bool(turn.fact("corrected")) or turn.cue("correction_words")
    asked = turn.state.frame.step if turn.state.frame is not None else None  # the answer to it wins
    role = speaker_relation(turn, notes.get("relation"))
    relation = role or _relation(turn, slots)
    if relation == "non_relative" and notes.get("relation") not in (None, "self", "non_relative") \
            and not corrected:
        relation = None  # 阿舅… then 隔壁阿兄开车送去: a helper named, the insured still a relative
    if relation == "self" and not role and "relation" in notes and not _RE_FIRST_PERSON.search(norm):
        relation = None  # 唔是初三，是初一跋倒个: the NLU's "self" by default, not a new answer about who
    refines = (notes.get("relation"), relation) in _REFINED
    if relation and (role or corrected or refines or not _report_started(turn) or "relation" not in notes):
        _put(turn, "relation", relation)
    if role or (slots.get("relation") == "self" and len(norm) <= 8) or (
            turn.cue("in_law_words") and _ROLE_AT.search(norm)):  # 我是伊新妇: who the writer is
        turn.noted.add("relation_told")  # 我是伊女儿, 就是我自己: an answer about who, not a yes
    other_fix = corrected and turn.cue("transfer_words") and not turn.cue("date_fix_words")
    if not other_fix:  # 医院不对 伊今早转去民生医院: the day of the transfer, not of the accident
        _remember_date(turn, notes, slots, corrected or asked == "date")
    for key, slot in (("accident", "accident_type"), ("transport", "transport"), ("days", "days")):
        if slots.get(slot) and (corrected or asked == key or key not in notes):
            _put(turn, key, slots[slot])
    if notes.get("transport") and notes.get("accident") in (None, "collision", "fall", "other"):
        _put(turn, "accident", "traffic")  # hurt as a passenger (急刹 撞到椅背, 车内跌倒): a traffic accident
    stays = [int(d) for d in _RE_STAY_DAYS.findall(norm)]
    if len(stays) >= 2:  # 第一次住了100日，第二次住了20日: each stay, for a sum asked later
        _put(turn, "stay_list", stays)
    if turn.fact("disability_grade"):
        _put(turn, "grade", int(turn.fact("disability_grade")))
    if turn.fact("days_used_this_year") is not None:
        _put(turn, "days_used", int(turn.fact("days_used_this_year")))
    if died(turn):
        _put(turn, "death", True)
    hospital = turn.extract.hospital(turn.plain, last=corrected or turn.cue("transfer_words"))
    alone = bool(hospital) and turn.extract.names_care_place(turn.plain.strip())  # 胪岗镇卫生院, sent alone
    if hospital and (corrected or asked == "hospital" or "hospital" not in notes or alone):
        _put(turn, "hospital", hospital[:100])
        if alone and not corrected:
            turn.noted.add("hospital_told")  # the name said again on its own corrects the one before
    elif not hospital and "hospital" not in notes and turn.cue("in_photo_words") and turn.state.pending_media:
        _put(turn, "hospital", turn.copy.t("hospital_in_photo"))  # 就系图上那间: the receipt sent
    if turn.cue("no_stay_words"):
        _put(turn, "stay", False)
    elif turn.cue("stay_words") or (hospital and ("住在" + hospital) in turn.plain):
        _put(turn, "stay", True)
    _remember_private(turn)
    kinds = turn.copy.groups_in("exclusion_words", norm)
    if not kinds and (died(turn) or notes.get("death")) and turn.cue("illness_words"):
        kinds = ["sudden_death"]  # 突然心梗走了: an illness, not an accident
    if kinds:
        turn.noted.add("exclusion_talk")
        notes["exclusion_last"] = kinds[0]  # the one this message is about answers it
    if kinds and not set(kinds) <= set(notes.get("exclusions", [])):
        notes["exclusions"] = sorted(set(notes.get("exclusions", [])) | set(kinds))
        turn.noted.add("exclusions")
    if describes_accident(turn):
        text = scrub_text(turn.text[:300], private_values=turn.private_values)
        old = str(notes.get("description", ""))
        if text not in old:
            notes["description"] = (old + " " + text).strip()[-_DESCRIPTION_MAX:]
    cover_start.remember(turn)
    hukou = _other_hukou(turn)
    if hukou:
        notes["hukou_other"] = hukou


def _put(turn: Turn, key: str, value: Any) -> None:
    if turn.state.notes.get(key) != value:
        turn.state.notes[key] = value
        turn.noted.add(key)


def _put_secret(turn: Turn, key: str, value: str) -> None:
    if turn.note_secret(key) != value:
        turn.keep_note_secret(key, value)
        turn.noted.add(key)


def _relation(turn: Turn, slots: dict[str, Any]) -> str | None:
    """Who the message is about; the writer when they tell their own story (我…被他打, 我前日跋倒,
    我叫李伟强…砸到我肩头)."""
    relation = slots.get("relation")
    if relation == "non_relative" and turn.norm.startswith("我") and "被" in turn.norm \
            and not turn.cue("on_behalf_words"):
        return "self"
    if relation == "other_relative" and (turn.cue("not_kin_words") or _NOT_KIN.search(turn.norm)):
        # 我是他隔壁邻居 / 不是亲戚 (but 阿舅被隔壁的狗咬到: a relative)
        return "non_relative"
    if not relation and turn.cue("in_law_words"):  # 阮大家跋倒, 我是伊的新妇: a relative by marriage
        return "other_relative"
    if not relation and _own_story(turn):
        return "self"
    return str(relation) if relation else None


_RE_FIRST_PERSON = re.compile(r"我|阮|自己|自家|本人")
_REFINED = (("grandparent", "grandmother"), ("grandparent", "grandfather"), ("parent", "mother"),
            ("parent", "father"))  # a grandparent named after 我是伊孙: which one
_NOT_KIN = re.compile(r"我(?:是|系)[^，,。；;！!]{0,4}(?:邻居|隔壁|朋友|同事)")
_SEX = {"mother": "f", "grandmother": "f", "father": "m", "grandfather": "m"}
_BY_ROLE = {"child": {"f": "mother", "m": "father", "": "parent"},
            "grandchild": {"f": "grandmother", "m": "grandfather", "": "grandparent"}}
_ROLE_AT = re.compile(r"我(?:系|是)(?:[伊他她佢](?:的|个|嘅)?)?(?:的)?")


def speaker_relation(turn: Turn, known: Any) -> str | None:
    """The insured seen from the writer when the writer says who they are (我是伊查某囝 → mother, when
    the person was a woman; 我是伊老伴 → spouse); the sex comes from what was said before."""
    for text in (turn.plain, turn.norm):
        for at in _ROLE_AT.finditer(text):
            after = text[at.end():]
            role = next((name for name, words in turn.copy.table("speaker_roles").items()
                         if after.startswith(tuple(sorted(words, key=len, reverse=True)))), None)
            if role == "spouse":
                return "spouse"
            if role:
                sex = _SEX.get(str(known), "")
                before = text[:at.start()]
                if not sex:
                    sex = "f" if re.search(r"[妈母嬷婆姆]", before) else ""
                    sex = sex or ("m" if re.search(r"[爸父公伯]", before) else "")
                return _BY_ROLE[role][sex]
    return None


def by_id_sex(relation: str, id_number: str) -> str:
    """A parent or grandparent made a mother or a grandfather … by the ID number's sex digit."""
    if relation not in ("parent", "grandparent") or len(id_number) != 18 or not id_number[16].isdigit():
        return relation
    male = int(id_number[16]) % 2 == 1
    return {"parent": ("mother", "father"), "grandparent": ("grandmother", "grandfather")}[relation][male]


_OTHERS = re.compile(r"[伊他她]|老人|老伴|老公|老婆|阿[公嬷婆爸妈伯姆叔]|[爸妈爷奶]")
_I = re.compile(r"^(?:你好|您好|喂)?\s*我(?:叫|系|是)?")


def _own_story(turn: Turn) -> bool:
    """An accident told in the first person about nobody else: the writer was hurt."""
    norm = turn.norm
    return (bool(_I.match(norm)) and describes_accident(turn) and not died(turn)
            and not turn.cue("on_behalf_words") and not _OTHERS.search(norm))


def _in_report(turn: Turn) -> bool:
    frame = turn.state.frame
    return frame is not None and frame.flow == "claim_report"


def _report_started(turn: Turn) -> bool:
    frame = turn.state.frame
    return frame is not None and frame.flow == "claim_report" and frame.step not in (None, "relation")


_RE_DATE_SPLIT = re.compile(r"[\s，,。；;！!]+|不是|应该是|改成|就是|是")


_RE_DAY_START = re.compile(r"(?=昨天|昨晚|前天|前晚|今天|今早|上礼拜|上星期|(?<!上)礼拜|(?<!上)星期|上个月"
                           r"|(?<!\d)\d{1,2}月|(?<![\d月])\d{1,2}号)")


_RE_FIXED_TO = re.compile(r"(?:不对|不是|讲错了|说错了|搞错了)[啦了呀哦，,。\s]*(?:是|应该是)"
                          r"([^，,。；;\s]+)")


def _last_date(turn: Turn, norm: str) -> str | None:
    """The last date a message names (不是礼拜天 是礼拜六 → Saturday; 农历廿八 就是上礼拜日 → that
    Sunday): a message that corrects itself or gives a day twice means its last one (a day of
    leaving hospital is not the accident's)."""
    fixed = _RE_FIXED_TO.search(norm)  # 哦不对，是礼拜五，礼拜六是去打针: the day right after the "no"
    reading = read_date(fixed.group(1), turn.today) if fixed else None
    if reading is not None and reading.date is not None and not reading.lunar:
        return reading.date.isoformat()
    discharge = turn.copy.word_pattern("discharge_words")
    for part in reversed([p for p in _RE_DATE_SPLIT.split(norm) if p and not discharge.search(p)]):
        reading = read_date(part, turn.today)
        if reading.date is not None and not reading.lunar:
            return reading.date.isoformat()
    return None


_RE_STAY_DAYS = re.compile(r"(?:住了?(?:院)?|第[一二三四1-4]次(?:住院|住了?)?)\s*(\d{1,3})\s*(?:日|天)")
_RE_LUNAR_CHARS = re.compile(r"[廿卅]")
_RE_BARE_WEEKDAY = re.compile(r"(?<![上这本个])(?:周|星期|礼拜)[一二三四五六日天1-7]")
_RE_WEEK_SAID = re.compile(r"(?:上|这|本|下)(?:个)?(?:周|星期|礼拜)")


def _same_week(turn: Turn, notes: dict[str, Any], iso: str) -> str:
    """唔是礼拜三，是礼拜二 after 上礼拜三: the weekday of the week said before, not of this week."""
    told = notes.get("date")
    if not told or not _RE_BARE_WEEKDAY.search(turn.norm) or _RE_WEEK_SAID.search(turn.norm):
        return iso
    old, new = dt.date.fromisoformat(str(told)), dt.date.fromisoformat(iso)
    moved = old - dt.timedelta(days=old.weekday()) + dt.timedelta(days=new.weekday())
    return moved.isoformat() if moved <= turn.today else iso


def _remember_date(turn: Turn, notes: dict[str, Any], slots: dict[str, Any], corrected: bool) -> None:
    iso = slots.get("date")
    lunar_won = False  # the accident's day is the lunar one named (shown with its lunar name)
    telling = _in_report(turn) or describes_accident(turn)
    if not iso and "date" not in notes and telling and not turn.asks and not (
            turn.cue("correction_words") or turn.cue("told_before_words")):  # 头先讲错了: of the talk
        # 今早煲粥 锅翻了: in a report under way, a bare "today" word is the accident's day too
        day = read_date(turn.norm, turn.today, event=True).date
        iso = day.isoformat() if day is not None else None
    if iso and turn.cue("discharge_words") and not corrected:  # 昨天出院: not the day of the accident
        iso = None
    if iso and (turn.fact("corrected") or turn.cue("correction_words")):
        iso = _last_date(turn, turn.norm) or iso  # 不是礼拜天 是礼拜六: the day it was corrected to
        iso = _same_week(turn, notes, str(iso))
    elif iso and (died(turn) or notes.get("death")):
        # 礼拜五跋倒 昨天去世了: the accident is the earlier day, not the death's
        parts = _RE_DAY_START.split(turn.norm)
        days = [d for d in (read_date(p, turn.today).date for p in parts) if d]
        named = turn.extract.lunar(turn.plain) if _RE_LUNAR_CHARS.search(turn.plain) else None
        lunar_day = named.solar(turn.today) if named is not None else None
        if lunar_day is not None:  # 上个月廿三跋倒 … 前日走的: the lunar day is the other one
            days = [*(days or [dt.date.fromisoformat(str(iso))]), lunar_day]
        iso = min(days).isoformat() if len(days) > 1 else iso
        lunar_won = lunar_day is not None and iso == lunar_day.isoformat()
    lunar_chars = bool(_RE_LUNAR_CHARS.search(turn.plain))  # 九月廿八: written the lunar way
    said_lunar = bool(turn.fact("lunar_date")) or turn.cue("lunar_words") or lunar_chars
    lunar = turn.extract.lunar(turn.norm) if said_lunar else None
    if lunar is not None and lunar_chars and not lunar.explicit and lunar.month is not None \
            and not (turn.fact("corrected") or turn.cue("correction_words")):
        iso = None  # not the solar 9月28 the slot read: 农历还是阳历 is asked
    if lunar is not None and lunar.explicit and len(turn.norm) <= 8:
        corrected = True  # 农历廿八啦: a lunar day said on its own sets the day told before
    if lunar is not None and lunar.month is None and not iso:
        iso = _last_date(turn, turn.norm)  # 农历廿八 就是上礼拜日: the solar day said with it
    if lunar is not None and lunar.explicit and lunar.month is not None:
        iso = None  # 农历十月廿日: the lunar day, not the solar 10月20日 the slot read
        if notes.get("date"):
            told = dt.date.fromisoformat(str(notes["date"]))  # 十月廿日 taken as solar, then 农历十月廿日
            if lunar.day == told.day and lunar.month == told.month:
                corrected = True
                turn.noted.add("date_told")  # a correction of the report's date too
    if iso and (corrected or "date" not in notes):
        try:
            if dt.date.fromisoformat(str(iso)) <= turn.today:
                _put(turn, "date", str(iso))
                notes.pop("date_lunar", None)
                notes.pop("lunar_pending", None)
                if lunar_won:
                    notes["date_lunar"] = True
                return
        except ValueError:
            pass
    festival = turn.fact("lunar_gregorian") if said_lunar and lunar is None else None
    if festival and turn.cue("festival_words") and (corrected or "date" not in notes) \
            and dt.date.fromisoformat(str(festival)) <= turn.today:  # 中秋前一日: the festival's solar day
        _put(turn, "date", str(festival))
        notes["date_lunar"] = True
        notes.pop("lunar_pending", None)
        return
    if said_lunar and (corrected or "date" not in notes):
        if lunar is not None and (lunar.explicit or lunar.month is None):
            # 是农历初五, 初三那天: the latest lunar 初五 (this lunar month or the last); a day said as
            # 初N with no month is only ever a lunar day
            day = lunar.solar(turn.today)
            if day is not None:
                _put(turn, "date", day.isoformat())
                notes["date_lunar"] = True
                notes.pop("lunar_pending", None)
        elif lunar is not None and describes_accident(turn):
            notes["lunar_pending"] = [lunar.month, lunar.day]


_RE_NAME_FIX = re.compile(r"(?:不是|不对|错了|打错了|写错了)[啦了呀，,。\s]*(?:是|叫)\s*"
                          r"([\u4e00-\u9fff]{2,4})(?=$|[，,。\s])")


def _remember_private(turn: Turn) -> None:
    norm = turn.norm
    name = turn.extract.name(turn.plain)
    fixed = _RE_NAME_FIX.search(turn.plain) or _RE_NAME_FIX.search(norm)  # 哦不是，是许锦彪 / 名字唔对，是…
    if not name and fixed and turn.extract.is_name(fixed.group(1)):
        name = fixed.group(1)
    known = turn.note_secret("name")
    if not name and known and turn.cue("correction_words"):  # 唔是正，是振动的振，许振雄
        name = fixes.corrected_name(turn, known)
    if name:
        _put_secret(turn, "name", name)
    phones = turn.extract.phones(norm)
    if phones:
        phone = phones[-1]
        if len(phones) > 1 and turn.cue("new_value_words"):
            # 旧手机138…，新号码158…: the number after the "new" word
            cut = max(norm.find(w) for w in turn.copy.words("new_value_words"))
            later = [p for p in phones if norm.find(p) > cut] if cut >= 0 else []
            phone = later[0] if later else phones[-1]
        _put_secret(turn, "phone", phone)
    address = turn.extract.address(turn.plain) if turn.cue("address_cue_words") else None
    if address:
        _put_secret(turn, "address", address)


def died(turn: Turn) -> bool:
    """True when the message tells that someone died (not a question about the death benefit)."""
    if turn.fact("death"):
        return True
    return turn.cue("death_words") and not turn.cue("hypothetical_words")


def describes_accident(turn: Turn) -> bool:
    """True when the message tells of an accident, an injury or a death (worth keeping as the
    report's description)."""
    slots = turn.pred.slots or {}
    return bool(slots.get("accident_type")) or died(turn) or turn.cue("injury_words")


def _other_hukou(turn: Turn) -> str | None:
    """A household registration outside the product's districts (户口在普宁 → 普宁)."""
    norm = turn.norm
    districts = turn.product.eligibility.household_registration_districts
    for word in ("户口在", "户籍在"):
        at = norm.find(word)
        if at >= 0:
            place = norm[at + len(word):at + len(word) + 4].split(" ")[0]
            place = place.rstrip("的了啊呀")
            if place and not any(d[:2] in place for d in districts):
                return place
    return None


def forget_report(turn: Turn) -> None:
    """Drop the report facts once a claim was created from them (a second report starts afresh)."""
    for key in REPORT_KEYS:
        turn.state.notes.pop(key, None)
    for key in ("name",):
        turn.state.secret.pop(key, None)


def summary(turn: Turn) -> dict[str, str]:
    """What is known, for the person who takes over (private values included: the caller encrypts)."""
    out = {k: str(v) for k, v in turn.state.notes.items() if k in REPORT_KEYS and v not in (None, "")}
    for key in SECRET_KEYS:
        value = turn.note_secret(key)
        if value:
            out[key] = value
    return out
