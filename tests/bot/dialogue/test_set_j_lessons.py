"""What the tenth blind author's everyday conversations taught (issue 11, set J; 36/40 at first
sight): a scooter scraped by a car (被小车蹭到) is a traffic accident; in a complaint "案件号我找不到了"
is part of the story, not a progress question; "伊身份证在我手头，同意" is a yes, not "no ID"; "唔是亲戚，
厝边" where the name was asked tells who, kindly noted; a hospital named again on its own corrects the
one before (voice: 炉岗卫生院, typed: 胪岗镇卫生院). NOW is Saturday 21 November 2026."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.complaints.models import Complaint
from tests.bot.dialogue.conftest import Chat, make_id

ID_M = make_id("19440101", "091")


def test_a_scooter_scraped_by_a_car_is_a_traffic_accident(chat: Chat) -> None:
    chat.say("报案")
    chat.say("我爸骑电动车被小车蹭到了 前天下午在陈店那遍")
    frame = chat.state().frame
    assert frame is not None and frame.data.get("accident") == "traffic"


def test_a_lost_case_number_in_a_complaint_is_its_story(chat: Chat, db: Session) -> None:
    chat.say("我要投诉")
    chat.say("我阿妈住院的津贴，材料10月16号就全部交齐了，现在快一个月了一分钱都没到")
    chat.say("案件号我找不到了，我妈叫吴秋菊")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "complaint"
    reply = chat.say("回电打 13531987702")
    assert "24小时" in reply and "15个工作日" in reply
    assert db.scalars(select(Complaint).where(Complaint.openid == chat.user)).first() is not None


def test_an_id_card_at_hand_and_a_yes_is_consent_and_a_neighbour_told_again_is_noted(chat: Chat) -> None:
    chat.say("我是隔壁厝的，周伯一个人住，今早在门口埕跋倒，脚肿起来行唔得")
    assert chat.say("唔是亲戚，厝边").startswith(chat.engine.copy.t("noted"))
    chat.say("周顺发")
    chat.say("伊身份证在我手头，伊讲可以，同意")
    frame = chat.state().frame
    assert frame is not None and frame.data.get("consent_id") and not frame.data.get("no_id")
    chat.say("440514 194401 010919")
    assert chat.frame_secret("id_number") == "440514194401010919"


def test_a_hospital_named_again_on_its_own_corrects_the_first(chat: Chat) -> None:
    chat.talk("报案", "我老公昨天屋顶的瓦片掉下来砸到头了", "他叫翁德明", "同意", ID_M,
              "在炉岗卫生院缝针的")
    chat.say("胪岗镇卫生院")
    frame = chat.state().frame
    assert frame is not None and frame.data.get("hospital") == "胪岗镇卫生院"
