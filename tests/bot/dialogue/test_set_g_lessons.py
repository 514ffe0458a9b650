"""What the seventh and eighth blind authors' conversations taught (issue 11, sets G and H): an
injury told days later is no emergency, and one under way ends when the report's facts come; "是我自己
郭惠娟" answers who and the name; the rest of an ID number comes as "后面是162X"; a correction at the
confirmation carries its value (尾数是4516, 唔是秀，是素); 十月初八 is a lunar day; a question nobody
answers twice does not block the report; a neighbour's long story with 帮他报一下 is a report; a fact
sent instead of the "1" of a report offer starts it; amounts in a complaint are no phone number.
Each conversation drives the entry points the webhook uses (``conftest.Chat``); NOW is Saturday
21 November 2026 (lunar 十月十三)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.models import Claim
from tests.bot.dialogue.conftest import Chat, make_id, text

ID_M = make_id("19540810", "053")  # a man (odd sex digit)
ID_F = make_id("19580526", "062")  # a woman


def _claims(chat: Chat, db: Session) -> list[Claim]:
    return list(db.scalars(select(Claim).where(Claim.reporter_openid == chat.user)))


def test_an_injury_told_days_later_is_no_emergency(chat: Chat) -> None:
    reply = chat.say("前日去市场被狗咬了一口 脚肚流血 有无得赔")
    assert chat.engine.copy.t("emergency") not in reply
    assert chat.state().notes.get("emergency") is None


def test_an_emergency_ends_when_the_name_comes_and_the_report_starts(chat: Chat) -> None:
    chat.say("救命 阮跋倒在厝里 起唔来")
    assert chat.state().notes.get("emergency") == "active"
    chat.say("还是起唔来 流血")  # still in danger: the advice again
    assert chat.state().notes.get("emergency") == "active"
    reply = chat.say("系我自己 我叫郑木松")
    assert chat.engine.copy.t("emergency_then_report") in reply
    frame = chat.state().frame
    assert frame is not None and frame.flow == "claim_report" and frame.data.get("relation") == "self"


def test_me_myself_and_the_name_in_one_answer(chat: Chat) -> None:
    chat.say("报案")
    chat.say("系我自己 我叫郑木松")  # at the who question
    assert chat.frame_secret("name") == "郑木松" and chat.state().frame.data.get("relation") == "self"  # type: ignore[union-attr]
    chat.forget_state()
    chat.talk("阮儿子来了 阮昨日跋倒", "报案")
    chat.say("系阮自己 郭惠娟")  # at the name question, after a son was named
    assert chat.frame_secret("name") == "郭惠娟" and chat.state().frame.data.get("relation") == "self"  # type: ignore[union-attr]
    chat.forget_state()
    chat.talk("阮老伴上礼拜六被牛撞着", "吴阿九")
    assert chat.frame_secret("name") == "吴阿九"  # after 阿 a numeral is part of the name
    chat.forget_state()
    chat.talk("阮老伴上礼拜六被牛撞着", "老伴 姚德和")
    assert chat.frame_secret("name") == "姚德和"  # 和 ends a name said alone
    extract = chat.engine.services.extract
    assert extract.name("陈和我去医院", whole=True) != "陈和我"


def test_the_rest_of_an_id_number_after_a_label(chat: Chat) -> None:
    chat.talk("我妈昨天在家里滑倒了，右手骨折，在潮南区人民医院住院，要报案", "她叫林玉珍", "可以")
    chat.say(ID_F[:14])
    chat.say("后面是" + ID_F[14:])
    assert chat.frame_secret("id_number") == ID_F


def test_a_correction_at_the_confirmation_carries_its_value(chat: Chat, db: Session) -> None:
    chat.talk("阮老公昨日冲茶时被滚水烫到脚", "去了潮南区人民医院", "伊叫洪秀坤", "同意", ID_M,
              "电话13722984561")
    assert chat.state().frame.step == "confirm"  # type: ignore[union-attr]
    chat.say("电话唔对，尾数是4516，我打颠倒了")
    chat.say("名字写错了，唔是秀，是素，素菜的素")
    assert chat.frame_secret("phone") == "13722984516" and chat.frame_secret("name") == "洪素坤"
    assert chat.state().frame.step == "confirm"  # type: ignore[union-attr]
    chat.say("对")
    [claim] = _claims(chat, db)
    assert claim.accident_type == "burn"


def test_a_day_said_with_chu_is_lunar_and_an_ignored_question_does_not_block(chat: Chat) -> None:
    chat.say("阮老爸十月初八在菜市场滑倒")  # 农历十月初八 2026 = 16 November
    assert chat.state().notes.get("date") == "2026-11-16"
    chat.forget_state()
    chat.talk("报案", "1", "伊叫杨丽娟", "好", ID_F)
    chat.say("九月廿八在菜市场滑倒")  # 廿八 may be lunar: asked
    frame = chat.state().frame
    assert frame is not None and frame.step == "lunar"
    chat.talk("住在峡山医院", "电话 15976328104")
    assert chat.state().frame.step != "lunar"  # type: ignore[union-attr]  # asked twice: as written


def test_an_age_then_the_day_before_yesterday(chat: Chat) -> None:
    chat.say("我要报案我今年虚岁七十三前日在田里割菜跋落水沟脚扭到了")
    assert chat.state().notes.get("date") == "2026-11-19"


def test_treated_without_a_stay_and_the_hospital_in_the_photo(chat: Chat) -> None:
    chat.talk("报案", "1", "郑木松", "同意", ID_M, "前日被狗咬")
    chat.send("image", media_id="media-receipt-1")
    chat.say("就系图上那间 去打狂犬针个")
    frame = chat.state().frame
    assert frame is not None and frame.data.get("hospital") == chat.engine.copy.t("hospital_in_photo")
    assert frame.data.get("claim_type") == "hospital_allowance" and frame.data.get("stay") is False


def test_a_neighbours_long_story_asking_to_report_is_a_report(chat: Chat) -> None:
    chat.say("你好，我是吴阿伯的邻居，他今天中午在两英老街走路，楼上阳台掉下一个花盆砸到他肩膀，我送他去"
             "两英镇卫生院看了，医生说锁骨裂了。他儿子在外地，阿伯不会用手机，叫我帮他报一下")
    frame = chat.state().frame
    notes = chat.state().notes
    assert frame is not None and frame.flow == "claim_report"
    assert notes.get("relation") == "non_relative" and notes.get("date") == "2026-11-21"


def test_a_fact_sent_instead_of_the_one_of_a_report_offer_starts_the_report(chat: Chat) -> None:
    chat.say("我爸前几天坐大巴回峡山，路上大巴跟货车撞了，他没抢救过来，想问问怎么办")
    assert chat.state().choice == {"kind": "intent", "options": ["claim_report"]}
    chat.say("是我父亲，马永强")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "claim_report" and chat.frame_secret("name") == "马永强"


def test_amounts_in_a_complaint_are_no_phone_number(chat: Chat) -> None:
    chat.say("我要投訴你們的理賠")
    reply = chat.say("阿爸喺潮南區人民醫院住咗20日，你哋只賠咗300蚊")
    assert chat.engine.copy.t("cr_bad_phone") not in reply and "11位" not in reply
    assert "20日" in str(chat.state().frame.data.get("content"))  # type: ignore[union-attr]


def test_died_in_sleep_of_a_heart_attack_is_not_an_accident(chat: Chat) -> None:
    chat.say("阿爸昨暝睡落去就无醒了")
    assert chat.state().notes.get("death") is True
    chat.say("医生讲是心肌梗塞")
    assert "sudden_death" in (chat.state().notes.get("exclusions") or [])


def test_relatives_stay_relatives_when_a_neighbour_helps(chat: Chat) -> None:
    chat.say("阮阿舅被隔壁的狗咬到脚，去了两英镇卫生院")
    assert chat.state().notes.get("relation") == "other_relative"
    chat.say("隔壁阿兄开车送去的")
    assert chat.state().notes.get("relation") == "other_relative"
    chat.forget_state()
    chat.say("阮老婶昨暝关铁门时手指被夹断了")
    assert chat.state().notes.get("relation") == "other_relative"


def test_a_corrected_weekday_stays_in_the_week_said_first(chat: Chat) -> None:
    chat.say("阮老爸上礼拜三骑电动车被摩托车撞倒，脚骨断了，要报案")
    assert chat.state().notes.get("date") == "2026-11-11"
    chat.say("唔对，唔是礼拜三，是礼拜二")
    assert chat.state().notes.get("date") == "2026-11-10"


def test_a_grandson_taking_over_the_phone_makes_it_his_grandfather(chat: Chat, db: Session) -> None:
    chat.talk("我跋倒了 脚好痛", "我是伊孙，头先是阮阿公在打字", "现在送去峡山医院")
    chat.talk("我帮阮阿公报案，伊叫陈木生", "可以", ID_M, "电话 18716583042", "是")
    [claim] = _claims(chat, db)
    assert claim.reporter_relation == "grandfather"


def test_a_death_report_tells_the_benefit(chat: Chat) -> None:
    replies = chat.talk("阿嬷走了", "伊在厝里冲凉跋倒，撞到头", "送去潮南区人民医院，住了一个礼拜，今早走的",
                        "阿嬷叫蔡秀珠", "同意", make_id("19380704", "028"), "电话 13794620513", "对")
    death = chat.engine.runtime.catalog.get().benefits.accidental_death.amount_yuan
    assert text("cr_death_amount", amount=death).render(chat) in replies[-1]


def test_the_report_under_way_goes_on_after_a_pause(chat: Chat) -> None:
    chat.talk("阮老伴跋倒了 头流好多血 现在怎么办", "车来了 要送去民生医院")
    assert chat.state().frame.step == "name"  # type: ignore[union-attr]
    chat.say("刚才那个还没完 我现在在医院了")
    assert chat.state().frame.flow == "claim_report"  # type: ignore[union-attr]  # not a progress query
    chat.say("伊是我老公 陈德荣")
    assert chat.frame_secret("name") == "陈德荣"


def test_an_earlier_report_told_in_a_complaint_starts_no_new_report(chat: Chat) -> None:
    chat.say("我要投诉 我昨日早上在这里报案 讲五分钟内回复 到今天都无人打电话来")
    chat.say("我是替我老伴报的 伊跋倒手骨断")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "complaint"


def test_a_transfer_at_the_confirmation_changes_the_hospital_not_the_day(chat: Chat) -> None:
    chat.talk("我老公杨少雄昨日在陈店市场门口被三轮车撞倒", "送去陈店医院", "同意", ID_M, "电话13692207583")
    assert chat.state().frame.step == "confirm"  # type: ignore[union-attr]
    chat.say("医院不对 伊今早转去潮南民生医院了 现在在那里住院")
    frame = chat.state().frame
    assert frame is not None and frame.data.get("date") == "2026-11-20"
    assert "民生医院" in str(frame.data.get("hospital"))


def test_asking_for_someone_to_help_in_an_emergency_calls_a_person(chat: Chat, db: Session) -> None:
    from backend.handoff.models import HandoffRequest

    chat.say("救急！！阿公在厨房跌倒了，头流血")
    assert chat.state().notes.get("emergency") == "active"
    chat.say("打了120了，但是阿嬷听不懂普通话，你们有没有人能帮忙")
    assert db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)).first() is not None


def test_a_phone_sent_while_an_update_asks_who_is_the_new_number(chat: Chat) -> None:
    chat.say("我爸张锡銮，现在搬来峡山跟我住了，以后有什么通知请打我电话")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "info_update"
    chat.say("电话13560718842")
    assert chat.frame_secret("value") == "13560718842"


def test_two_stays_of_different_lengths_are_added_up_with_their_caps(chat: Chat) -> None:
    chat.say("第一次在汕头大学医学院第一附属医院住了100日，第二次在潮南区人民医院住了20日")
    reply = chat.say("两次加起来能领几多钱？")
    ha = chat.engine.runtime.catalog.get().benefits.hospital_allowance
    first = min(100, ha.max_days_per_stay)
    counted = min(first + 20, ha.max_days_per_year)
    assert f"能领{counted * ha.per_day_yuan}元" in reply and f"算{first}天" in reply


def test_calls_to_go_to_the_daughter_is_an_update_and_a_name_before_the_id_is_kept(chat: Chat) -> None:
    chat.say("以后有乜事打我电话好唔好，我是伊查某仔")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "info_update"
    chat.talk("可以")
    chat.say("头先是阮阿妈讲的。伊叫陈惜娟")  # at the ID question
    assert chat.frame_secret("name") == "陈惜娟"


def test_a_grade_told_alone_is_answered_with_its_sum_and_a_later_question_reads_it(chat: Chat) -> None:
    reply = chat.say("现在伤残鉴定出来是七级")  # no question word: the family wants the sum
    assert "1200" in reply and "审核为准" in reply
    again = chat.say("能赔几多钱？")  # asked again: the grade told before, the sum said shorter
    assert "1200" in again and chat.engine.copy.t("amt_disability_rule") not in again
    docs = chat.say("还要交乜材料？")  # the documents of that claim, not of every claim type
    assert "伤残鉴定报告" in docs and "死亡证明" not in docs


def test_a_grade_told_earlier_answers_a_later_sum_question_but_not_a_hospital_one(chat: Chat) -> None:
    chat.say("阮阿公伤残评了9级")
    chat.say("好")
    assert "600" in chat.say("那能赔几多钱")  # 9级: 20% of 3000
    stay = chat.say("住院10日能领多少")  # days in hospital: the allowance (300元), not the grade
    assert "300" in stay and "600" not in stay
