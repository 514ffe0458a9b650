"""What the customer told so far in the conversation, so nothing said once is asked again.

Every text turn is read for facts (who, when, what happened, hospital, name, phone, address,
death, stay, days, exclusions, household registration) before it is routed; a flow that starts
later takes them from here (``state.notes``; private values encrypted in ``state.secret``). A fact
said once stays; a later message replaces it only when it corrects itself (不是我爸 是我老伴) or,
for the latest-wins facts (relation, name, phone), when it names another. The accident's day is
read by :mod:`bot.dialogue.accident_day`.
"""

from __future__ import annotations

import re
from typing import Any

from backend.security.masking import scrub_text
from bot.dialogue import accident_day, cover_start, fixes
from bot.dialogue.context import Turn

REPORT_KEYS = ("relation", "date", "date_lunar", "lunar_pending", "accident", "transport", "death",
               "hospital", "stay", "days", "description", "exclusions", "no_hospital")
SECRET_KEYS = ("name", "phone", "address")
_DESCRIPTION_MAX = 600


_RE_AGE_TAIL = re.compile(r"\s*\d{2,3}\s*岁?\s*$")


def remember(turn: Turn) -> None:
    """Read this message's facts into the conversation's notes (``turn.noted``: what changed)."""
    notes = turn.state.notes
    slots = turn.pred.slots or {}
    norm = turn.norm
    if ref := case_ref(turn):  # the claim named, found or not: an update or a complaint refers to it
        notes["case_ref"] = ref
    if turn.cue("already_reported_words"):
        notes["reported_before"] = True  # 上个月报过案 … 伊昨晚过身了: the death is that claim's
    if turn.cue("this_time_words"):  # 上个月帮阮小叔报过 这次是阮老伴: this report is someone else's
        notes.pop("reported_before", None)
    corrected = bool(turn.fact("corrected")) or turn.cue("correction_words")
    asked = turn.state.frame.step if turn.state.frame is not None else None  # the answer to it wins
    role = speaker_relation(turn, notes.get("relation"))
    kin_denied = turn.cue("not_kin_words")  # 我和她没有亲戚关系: who the writer is, said now
    relation = role or _relation(turn, slots)
    if relation == "non_relative" and notes.get("relation") not in (None, "self", "non_relative") \
            and not corrected and not kin_denied and not turn.cue("this_time_words"):
        # 阿舅… then 隔壁阿兄开车送去: a helper named, the insured still a relative (今次系隔壁的阿婶: this
        # report's person)
        relation = None
    if relation and corrected and notes.get("relation") not in (None, relation) and not role \
            and _denies_a_thing(norm):
        relation = None  # 电动三轮是阿公自己的 唔是营运的车: the vehicle corrected, not who was hurt
    if relation == "self" and not role and "relation" in notes and not _RE_FIRST_PERSON.search(norm):
        relation = None  # 唔是初三，是初一跋倒个: the NLU's "self" by default, not a new answer about who
    # 今次系隔壁的阿婶 / 先报阿嬷这个: this report's person, whoever else is named (not 叫我先报案)
    this_time = turn.cue("this_time_words") or bool(_RE_REPORT_FIRST.search(norm))
    if relation and notes.get("relation") not in (None, relation) and not role and not kin_denied \
            and not this_time and (
            (not corrected and (_RE_SENT_BY.search(norm) or _RE_THIRD.search(norm) or _RE_HELPS.search(norm)
                                or turn.extract.phones(norm)))  # 电话138…，係我阿爸: whose phone
            or (corrected and (_fixes_other_item(turn) or (  # 不是大陆号码？ 那打我表弟 189…: whose phone
                turn.extract.phones(norm) and not describes_accident(turn))))):
        # 我阿爸叫我先报案 / 阿嬷扶唔起伊: who sent the writer or helps, not the one hurt;
        # 医院不对 … 人民医院是我阿公以前住的: a correction of another item
        relation = None
    if (relation, notes.get("relation")) in _REFINED:
        relation = None  # 阿嬷 … then 我是伊孙女: grandmother already, more precise than a grandparent
    refines = (notes.get("relation"), relation) in _REFINED
    # 阿爸那单赔了未 … 阮阿妈乞狗咬着，先报这个: another person's story, before any report
    other = bool(relation) and notes.get("relation") not in (None, relation) and not refines and not role \
        and not _report_started(turn) and describes_accident(turn)
    # 阮翁 / 我老母 93岁 / 老伴 我老婆: a short answer that is only who it is, after 阿公 跋倒 (a wife
    # speaking of her husband as the grandchildren do) or a first person the NLU assumed
    # (儿子 / 孙女 alone: who the writer is, not who was hurt)
    bare_who = (relation not in (None, "self", "son", "daughter", "grandchild")
                and (norm.startswith("我") or relation == "spouse")
                and len(_RE_AGE_TAIL.sub("", norm).strip(" ，,。")) <= 6
                and not turn.extract.name(turn.plain) and not describes_accident(turn))
    # 阿嬸call咗120 / 厝里只有我阿妈一个人: a helper, not who was hurt
    helper = (turn.cue("help_called_words") or turn.cue("help_person_words")) and not describes_accident(turn)
    before = not _report_started(turn) and ("relation" not in notes or not helper)
    if relation and (role or corrected or refines or before or "relation" not in notes
                     or kin_denied or bare_who or (this_time and slots.get("relation") == relation)):
        _put(turn, "relation", relation)
    if role or kin_denied or bare_who or (this_time and relation) or (
            slots.get("relation") == "self" and len(norm) <= 8) or (
            turn.cue("in_law_words") and _ROLE_AT.search(norm)):  # 我是伊新妇: who the writer is
        turn.noted.add("relation_told")  # 我是伊女儿, 就是我自己: an answer about who, not a yes
    other_fix = corrected and turn.cue("transfer_words") and not turn.cue("date_fix_words")
    # 医院不对 伊今早转去民生医院: the day of the transfer; 上个月8号满60岁: a birthday; not the accident's
    if turn.cue("turn_age_words"):
        notes["age_talk"] = True  # 我上个月才满60: a birthday said next is that one
    if not other_fix and not turn.cue("turn_age_words") and not cover_start.birthday_told(turn):
        tells = describes_accident(turn)
        # 对 日期是23号 at the confirmation: the day named is a correction
        at_confirm = asked == "confirm" and turn.cue("date_fix_words") and bool(slots.get("date"))
        fix = corrected or asked == "date" or other or at_confirm
        accident_day.remember(turn, notes, slots, fix, put=_put,
                              telling=_in_report(turn) or tells, death=bool(died(turn) or notes.get("death")),
                              describes=tells)
    stayed = list(notes.get("stay_list") or ([notes["days"]] if notes.get("days") else []))
    paid = bool(_RE_PAID.search(norm)) and not this_time  # 三月跋倒住了90日 已经赔了: a claim paid before
    if paid and slots.get("days"):
        notes["days_paid"] = int(slots["days"])  # this year's days already paid, for what is left
    for key, slot in (("accident", "accident_type"), ("transport", "transport"), ("days", "days")):
        if paid and key == "accident":
            continue  # the accident of that claim is not the one told next
        vaguer = key == "accident" and (notes.get(key), slots.get(slot)) == ("traffic", "collision")
        if slots.get(slot) and (corrected or asked == key or key not in notes or other) and not vaguer:
            _put(turn, key, slots[slot])  # (被电动车撞倒, then 伊是行路被撞，唔是坐车: still traffic)
    if notes.get("transport") and notes.get("accident") in (None, "collision", "fall", "other"):
        _put(turn, "accident", "traffic")  # hurt as a passenger (急刹 撞到椅背, 车内跌倒): a traffic accident
    stays = [int(d) for d in _RE_STAY_DAYS.findall(norm)]
    if len(stays) >= 2:  # 第一次住了100日，第二次住了20日: each stay, for a sum asked later
        _put(turn, "stay_list", stays)
    elif len(stays) == 1 and stayed and _RE_AGAIN.search(norm):  # 六月又跋倒一次…住了100日: one more stay
        _put(turn, "stay_list", [*stayed, stays[0]])
    if turn.fact("disability_grade"):
        _put(turn, "grade", int(turn.fact("disability_grade")))
    if turn.fact("days_used_this_year") is not None:
        _put(turn, "days_used", int(turn.fact("days_used_this_year")))
    if died(turn):
        _put(turn, "death", True)
    tail = accident_day.FIX_TAIL.search(turn.plain) if corrected else None  # 医院不对 是民生医院 人民医院是…
    hospital = (tail and turn.extract.hospital(turn.plain[tail.end():])) or turn.extract.hospital(
        turn.plain, last=corrected or turn.cue("transfer_words"))
    alone = bool(hospital) and turn.extract.names_care_place(turn.plain.strip())  # 胪岗镇卫生院, sent alone
    alone = alone or (bool(hospital) and turn.cue("stay_words") and not turn.cue("no_stay_words")
                      and not turn.asks and notes.get("hospital") != hospital)  # 现在在区医院住院: where now
    if hospital and (corrected or asked == "hospital" or "hospital" not in notes or alone):
        _put(turn, "hospital", hospital[:100])
        if alone and not corrected:
            turn.noted.add("hospital_told")  # the name said again on its own corrects the one before
    elif not hospital and "hospital" not in notes and turn.cue("in_photo_words") and turn.state.pending_media:
        _put(turn, "hospital", turn.copy.t("hospital_in_photo"))  # 就系图上那间: the receipt sent
    if turn.cue("no_stay_words"):
        _put(turn, "stay", False)
        if turn.cue("no_hospital_words") and "hospital" not in notes:
            _put(turn, "no_hospital", True)  # 无去医院 自己擦药油: no place of care to ask for
    elif turn.cue("stay_words") or (hospital and ("住在" + hospital) in turn.plain):
        _put(turn, "stay", True)
    _remember_private(turn)
    kinds = turn.copy.groups_in("exclusion_words", norm)
    if not kinds and (died(turn) or notes.get("death")) and turn.cue("illness_words"):
        kinds = ["sudden_death"]  # 突然心梗走了: an illness, not an accident
    elif not kinds and turn.cue("illness_words") and not (turn.pred.slots or {}).get("accident_type") \
            and not notes.get("accident"):
        kinds = ["illness"]  # 中风入院: an illness, its stay no accident's
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
    if cover_start.moved_in(turn):  # 之前户口在广州 这个月迁回潮南了: of the district now
        notes.pop("hukou_other", None)
        turn.noted.add("hukou_inside")
    elif hukou:
        notes["hukou_other"] = hukou
    elif hukou == "":  # 我自己户口在峡山: someone of the district now
        notes.pop("hukou_other", None)
        turn.noted.add("hukou_inside")


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
    if relation == "non_relative" and _RE_I_WAS.match(turn.norm) and "被" in turn.norm \
            and not turn.cue("on_behalf_words") and not _RE_SOMEONE.search(turn.norm):
        return "self"
    if relation == "other_relative" and (turn.cue("not_kin_words") or _NOT_KIN.search(turn.norm)):
        # 我是他隔壁邻居 / 不是亲戚 (but 阿舅被隔壁的狗咬到: a relative)
        return "non_relative"
    if turn.cue("not_kin_words") or _RE_SOMEONE.search(turn.norm):
        return "non_relative"  # 我和她没有亲戚关系 / 我们村一个阿婆: not the writer's grandmother
    if not relation and turn.cue("in_law_words"):  # 阮大家跋倒, 我是伊的新妇: a relative by marriage
        return "other_relative"
    if not relation and _own_story(turn):
        return "self"
    return str(relation) if relation else None


_RE_PAID = re.compile(r"已经赔|赔了|收到钱|钱收到|到账了|赔款到了|钱到了")
_RE_REPORT_FIRST = re.compile(r"先报(?!案|一下|个案|了)")
_RE_I_WAS = re.compile(r"我(?!村|们|家|厝|乡|隔壁)")  # 我村有个阿伯…被人发现: not the writer
_RE_FIRST_PERSON = re.compile(r"我|阮|自己|自家|本人")
# 村里一个阿婆: someone of the village, not the writer's grandmother
_RE_SOMEONE = re.compile(r"(?:一个|一位|有个)[\u4e00-\u9fff]{0,4}?"
                         r"(?:阿婆|阿伯|阿公|阿嬷|阿姆|阿叔|老人|老伯|阿婶)")
_RE_AGAIN = re.compile(r"又|再次|第二次|另一次|也(?:\w{0,4})住过|还住过|之前也|上次也")  # 3月也跋倒住过一次院
_RE_THIRD = re.compile(r"[伊他她佢]")  # the one already talked about
# 阿叔在打120了 / 阿兄送伊去医院: a relative who helps, not the one hurt
_RE_HELPS = re.compile(r"(?:打了?120|叫了?救护车)|(?:送|扶|陪|载|背)[他她伊]")
_RE_SENT_BY = re.compile(r"(?:叫|让|要|喊|吩咐|交代)我(?:来|先|帮忙|帮){0,2}(?:报|问|找|办|联系)"
                         r"|(?:讲|说)(?:要|还是要|得)报")  # 阮孙子讲要报: who said to, not who was hurt
_REFINED = (("grandparent", "grandmother"), ("grandparent", "grandfather"), ("parent", "mother"),
            ("parent", "father"))  # a grandparent named after 我是伊孙: which one
_NOT_KIN = re.compile(r"我(?:是|系)[^，,。；;！!]{0,4}(?:邻居|隔壁|朋友|同事)")
_SEX = {"mother": "f", "grandmother": "f", "father": "m", "grandfather": "m"}
_BY_ROLE = {"child": {"f": "mother", "m": "father", "": "parent"},
            "grandchild": {"f": "grandmother", "m": "grandfather", "": "grandparent"}}
_ROLE_AT = re.compile(r"我(?:系|是)(?:[伊他她佢](?:的|个|嘅)?)?(?:的)?")


_RE_DENIED = re.compile(r"(?:不是|唔是|不系|唔系)([^，,。；;\s]{1,8})")
_RE_NEGATIONS = re.compile(r"^(?:不是|唔是|不系|唔系)+")
_RE_PERSON_BIT = re.compile(r"[爸妈爷奶公嬷婆伯叔姆姨舅姑哥姐弟妹伴儿女孙我阮自他她伊人]")


def _denies_a_thing(norm: str) -> bool:
    """True when every 不是 of the message denies a thing, not a person (唔是营运的车)."""
    objects = (_RE_NEGATIONS.sub("", m.group(1)) for m in _RE_DENIED.finditer(norm))
    denied = [d for d in objects if d]  # 唔是唔是，讲错: no object
    return bool(denied) and not any(_RE_PERSON_BIT.search(d) for d in denied)


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
                # 阿嬷叫吴秀珍 我是伊孙女: 伊 is the last person named before, whoever was talked of earlier
                said = re.findall(r"[妈母嬷婆姆爸父公伯]", text[:at.start()])
                sex = ("f" if said[-1] in "妈母嬷婆姆" else "m") if said else _SEX.get(str(known), "")
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


_RE_STAY_DAYS = re.compile(r"(?:住[了过]?(?:一次|1次)?(?:院)?|第[一二三四1-4]次(?:住院|住了?)?)"
                           r"\s*[,，]?\s*(\d{1,3})\s*(?:日|天)")


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


def _fixes_other_item(turn: Turn) -> bool:
    """True when a correction names an item of the report other than who was hurt (医院不对)."""
    items = turn.copy.table("fix_words")
    clauses = [c for c in re.split(r"[，,。.！!？?；;]+", turn.norm) if c]
    fixes = turn.copy.words("correction_words")
    at = next((i for i, c in enumerate(clauses) if any(w in c for w in fixes)), 0)
    near = "".join(clauses[at:at + 3])  # 唔是唔是，讲错，是阿嬷跋倒，阿公陪伊去医院: not about the hospital
    return any(w in near for field, words in items.items() if field != "relation" for w in words)


def describes_accident(turn: Turn) -> bool:
    """True when the message tells of an accident, an injury or a death (worth keeping as the
    report's description)."""
    slots = turn.pred.slots or {}
    return bool(slots.get("accident_type")) or died(turn) or turn.cue("injury_words")


def _other_hukou(turn: Turn) -> str | None:
    """A household registration outside the product's districts (户口在普宁 → 普宁); "" for one
    inside (户口在峡山), None when none is named (户口在我们村 names none)."""
    norm = turn.norm
    districts = turn.product.eligibility.household_registration_districts
    for word in ("户口在", "户籍在"):
        at = norm.find(word)
        if at >= 0:
            place = re.split(r"[\s,，。？?！!个嘅的了啊呀呢吗]", norm[at + len(word):at + len(word) + 4])[0]
            if not place or place[0] in "我你他她伊阮这那本":
                return None
            inside = any(d[:2] in place for d in districts) or any(t in place for t in turn.extract.towns)
            return "" if inside else place or None  # 户口在峡山: a town of the district
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


# the claim named by its number as the customer has it (案件号2026082300145, LP2611…): staff find it
_RE_CASE_REF = re.compile(r"(?:案件号|案件编号|报案号|案号|理赔号|编号|案子)\s*[:：是为]?\s*"
                          r"((?:lp)?\s*\d{8,16})|(?<![a-z])(lp\s*\d{8,16})", re.I)  # or the LP number alone


def case_ref(turn: Turn) -> str | None:
    """The claim this message names by its case number (read or not), else the one of this conversation."""
    slot = (turn.pred.slots or {}).get("claim_no")
    if slot:
        return str(slot)
    m = _RE_CASE_REF.search(turn.norm)
    if m:
        return (m.group(1) or m.group(2)).replace(" ", "").upper()
    return None
