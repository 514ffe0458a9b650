"""WeChat's pushes as published: every XML sample of wechatpy's own tests, verbatim, and the documented
pushes with nested elements that wechatpy has no sample of.

wechatpy samples: https://github.com/wechatpy/wechatpy at commit 5b8502e3bc4abfee3abae77983e01633ed47cebf,
``tests/test_events.py`` and ``tests/test_parser.py`` (each sample names its test). wechatpy is
Copyright (c) 2014-2020 messense, MIT License. Its subscribe-message samples are the ones of WeChat's
own page (https://developers.weixin.qq.com/doc/service/guide/product/subscription_messages/push.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    """One published push: where it comes from, and its XML exactly as published."""

    source: str
    xml: str


WECHATPY = "wechatpy@5b8502e:"
# fmt: off
WECHATPY_SAMPLES: tuple[Sample, ...] = (
    Sample(WECHATPY + "tests/test_events.py::test_subscribe_event", """
        <xml>
            <ToUserName><![CDATA[toUser]]></ToUserName>
            <FromUserName><![CDATA[FromUser]]></FromUserName>
            <CreateTime>123456789</CreateTime>
            <MsgType><![CDATA[event]]></MsgType>
            <Event><![CDATA[subscribe]]></Event>
        </xml>
        """),
    Sample(WECHATPY + "tests/test_events.py::test_unsubscribe_event", """
        <xml>
            <ToUserName><![CDATA[toUser]]></ToUserName>
            <FromUserName><![CDATA[FromUser]]></FromUserName>
            <CreateTime>123456789</CreateTime>
            <MsgType><![CDATA[event]]></MsgType>
            <Event><![CDATA[unsubscribe]]></Event>
        </xml>
        """),
    Sample(WECHATPY + "tests/test_events.py::test_subscribe_scan_event", """
        <xml>
            <ToUserName><![CDATA[toUser]]></ToUserName>
            <FromUserName><![CDATA[FromUser]]></FromUserName>
            <CreateTime>123456789</CreateTime>
            <MsgType><![CDATA[event]]></MsgType>
            <Event><![CDATA[subscribe]]></Event>
            <EventKey><![CDATA[qrscene_123123]]></EventKey>
            <Ticket><![CDATA[TICKET]]></Ticket>
        </xml>
        """),
    Sample(WECHATPY + "tests/test_events.py::test_scan_event", """
        <xml>
            <ToUserName><![CDATA[toUser]]></ToUserName>
            <FromUserName><![CDATA[FromUser]]></FromUserName>
            <CreateTime>123456789</CreateTime>
            <MsgType><![CDATA[event]]></MsgType>
            <Event><![CDATA[SCAN]]></Event>
            <EventKey><![CDATA[SCENE_VALUE]]></EventKey>
            <Ticket><![CDATA[TICKET]]></Ticket>
        </xml>
        """),
    Sample(WECHATPY + "tests/test_events.py::test_location_event", """
        <xml>
          <ToUserName><![CDATA[toUser]]></ToUserName>
          <FromUserName><![CDATA[fromUser]]></FromUserName>
          <CreateTime>123456789</CreateTime>
          <MsgType><![CDATA[event]]></MsgType>
          <Event><![CDATA[LOCATION]]></Event>
          <Latitude>23.137466</Latitude>
          <Longitude>113.352425</Longitude>
          <Precision>119.385040</Precision>
        </xml>
        """),
    Sample(WECHATPY + "tests/test_events.py::test_click_event", """
        <xml>
            <ToUserName><![CDATA[toUser]]></ToUserName>
            <FromUserName><![CDATA[FromUser]]></FromUserName>
            <CreateTime>123456789</CreateTime>
            <MsgType><![CDATA[event]]></MsgType>
            <Event><![CDATA[CLICK]]></Event>
            <EventKey><![CDATA[EVENTKEY]]></EventKey>
        </xml>
        """),
    Sample(WECHATPY + "tests/test_events.py::test_view_event", """
        <xml>
            <ToUserName><![CDATA[toUser]]></ToUserName>
            <FromUserName><![CDATA[FromUser]]></FromUserName>
            <CreateTime>123456789</CreateTime>
            <MsgType><![CDATA[event]]></MsgType>
            <Event><![CDATA[VIEW]]></Event>
            <EventKey><![CDATA[www.qq.com]]></EventKey>
        </xml>
        """),
    Sample(WECHATPY + "tests/test_events.py::test_mass_send_job_finish_event", """
        <xml>
            <ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>
            <FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName>
            <CreateTime>1481013459</CreateTime>
            <MsgType><![CDATA[event]]></MsgType>
            <Event><![CDATA[MASSSENDJOBFINISH]]></Event>
            <MsgID>1000001625</MsgID>
            <Status><![CDATA[err(30003)]]></Status>
            <TotalCount>0</TotalCount>
            <FilterCount>0</FilterCount>
            <SentCount>0</SentCount>
            <ErrorCount>0</ErrorCount>
            <CopyrightCheckResult>
                <Count>2</Count>
                <ResultList>
                    <item>
                        <ArticleIdx>1</ArticleIdx>
                        <UserDeclareState>0</UserDeclareState>
                        <AuditState>2</AuditState>
                        <OriginalArticleUrl><![CDATA[Url_1]]></OriginalArticleUrl>
                        <OriginalArticleType>1</OriginalArticleType>
                        <CanReprint>1</CanReprint>
                        <NeedReplaceContent>1</NeedReplaceContent>
                        <NeedShowReprintSource>1</NeedShowReprintSource>
                    </item>
                    <item>
                        <ArticleIdx>2</ArticleIdx>
                        <UserDeclareState>0</UserDeclareState>
                        <AuditState>2</AuditState>
                        <OriginalArticleUrl><![CDATA[Url_2]]></OriginalArticleUrl>
                        <OriginalArticleType>1</OriginalArticleType>
                        <CanReprint>1</CanReprint>
                        <NeedReplaceContent>1</NeedReplaceContent>
                        <NeedShowReprintSource>1</NeedShowReprintSource>
                    </item>
                </ResultList>
                <CheckState>2</CheckState>
            </CopyrightCheckResult>
            <ArticleUrlResult>
                <Count>1</Count>
                <ResultList>
                    <item>
                        <ArticleIdx>1</ArticleIdx>
                        <ArticleUrl><![CDATA[Url]]></ArticleUrl>
                    </item>
               </ResultList>
            </ArticleUrlResult>
        </xml>
        """),
    Sample(WECHATPY + "tests/test_events.py::test_scan_code_push_event", """<xml>
        <ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
        <FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
        <CreateTime>1408090502</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[scancode_push]]></Event>
        <EventKey><![CDATA[6]]></EventKey>
        <ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>
        <ScanResult><![CDATA[1]]></ScanResult>
        </ScanCodeInfo>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_scan_code_waitmsg_event", """<xml>
        <ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
        <FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
        <CreateTime>1408090606</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[scancode_waitmsg]]></Event>
        <EventKey><![CDATA[6]]></EventKey>
        <ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>
        <ScanResult><![CDATA[2]]></ScanResult>
        </ScanCodeInfo>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_pic_sysphoto_event", """<xml>
        <ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
        <FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
        <CreateTime>1408090651</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[pic_sysphoto]]></Event>
        <EventKey><![CDATA[6]]></EventKey>
        <SendPicsInfo><Count>1</Count>
        <PicList>
            <item>
            <PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum>
            </item>
        </PicList>
        </SendPicsInfo>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_pic_photo_or_album_event", """<xml>
        <ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
        <FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
        <CreateTime>1408090816</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[pic_photo_or_album]]></Event>
        <EventKey><![CDATA[6]]></EventKey>
        <SendPicsInfo><Count>1</Count>
        <PicList>
        <item>
        <PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum>
        </item>
        </PicList>
        </SendPicsInfo>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_pic_wechat_event", """<xml>
        <ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
        <FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
        <CreateTime>1408090816</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[pic_weixin]]></Event>
        <EventKey><![CDATA[6]]></EventKey>
        <SendPicsInfo><Count>1</Count>
        <PicList>
        <item>
        <PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum>
        </item>
        </PicList>
        </SendPicsInfo>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_location_select_event", """<xml>
        <ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
        <FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
        <CreateTime>1408091189</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[location_select]]></Event>
        <EventKey><![CDATA[6]]></EventKey>
        <SendLocationInfo><Location_X><![CDATA[23]]></Location_X>
        <Location_Y><![CDATA[113]]></Location_Y>
        <Scale><![CDATA[15]]></Scale>
        <Label><![CDATA[广州市海珠区客村艺苑路 106号]]></Label>
        <Poiname><![CDATA[]]></Poiname>
        </SendLocationInfo>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_merchant_order_event", """<xml>
        <ToUserName><![CDATA[weixin_media1]]></ToUserName>
        <FromUserName><![CDATA[oDF3iYyVlek46AyTBbMRVV8VZVlI]]></FromUserName>
        <CreateTime>1398144192</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[merchant_order]]></Event>
        <OrderId><![CDATA[test_order_id]]></OrderId>
        <OrderStatus>2</OrderStatus>
        <ProductId><![CDATA[test_product_id]]></ProductId>
        <SkuInfo><![CDATA[10001:1000012;10002:100021]]></SkuInfo>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_kf_create_session_event", """<xml>
        <ToUserName><![CDATA[touser]]></ToUserName>
        <FromUserName><![CDATA[fromuser]]></FromUserName>
        <CreateTime>1399197672</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[kf_create_session]]></Event>
        <KfAccount><![CDATA[test1@test]]></KfAccount>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_kf_close_session_event", """<xml>
        <ToUserName><![CDATA[touser]]></ToUserName>
        <FromUserName><![CDATA[fromuser]]></FromUserName>
        <CreateTime>1399197672</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[kf_close_session]]></Event>
        <KfAccount><![CDATA[test1@test]]></KfAccount>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_kf_switch_session_event", """<xml>
        <ToUserName><![CDATA[touser]]></ToUserName>
        <FromUserName><![CDATA[fromuser]]></FromUserName>
        <CreateTime>1399197672</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[kf_switch_session]]></Event>
        <FromKfAccount><![CDATA[test1@test]]></FromKfAccount>
        <ToKfAccount><![CDATA[test2@test]]></ToKfAccount>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_template_send_job_finish_event", """<xml>
        <ToUserName><![CDATA[touser]]></ToUserName>
        <FromUserName><![CDATA[fromuser]]></FromUserName>
        <CreateTime>1395658920</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>
        <MsgID>200163836</MsgID>
        <Status><![CDATA[success]]></Status>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_template_subscribe_msg_popup_event", """<xml>
        <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
        <FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName>
        <CreateTime>1610969440</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[subscribe_msg_popup_event]]></Event>
        <SubscribeMsgPopupEvent>
            <List>
                <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>
                <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
                <PopupScene>2</PopupScene>
            </List>
            <List>
                <TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>
                <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>
                <PopupScene>2</PopupScene>
            </List>
        </SubscribeMsgPopupEvent>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_template_subscribe_msg_change_event", """<xml>
        <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
        <FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName>
        <CreateTime>1610969440</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[subscribe_msg_change_event]]></Event>
        <SubscribeMsgChangeEvent>
            <List>
                <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>
                <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>
            </List>
        </SubscribeMsgChangeEvent>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_template_subscribe_msg_sent_event", """<xml>
        <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
        <FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName>
        <CreateTime>1610969468</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[subscribe_msg_sent_event]]></Event>
        <SubscribeMsgSentEvent>
            <List>
                <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>
                <MsgID>1700827132819554304</MsgID>
                <ErrorCode>0</ErrorCode>
                <ErrorStatus><![CDATA[success]]></ErrorStatus>
            </List>
        </SubscribeMsgSentEvent>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_shakearound_user_shake_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1433332012</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[ShakearoundUserShake]]></Event>
        <ChosenBeacon>
            <Uuid><![CDATA[uuid]]></Uuid>
            <Major>major</Major>
            <Minor>minor</Minor>
            <Distance>0.057</Distance>
        </ChosenBeacon>
        <AroundBeacons>
            <AroundBeacon>
                <Uuid><![CDATA[uuid]]></Uuid>
                <Major>major</Major>
                <Minor>minor</Minor>
                <Distance>166.816</Distance>
            </AroundBeacon>
            <AroundBeacon>
                <Uuid><![CDATA[uuid]]></Uuid>
                <Major>major</Major>
                <Minor>minor</Minor>
                <Distance>15.013</Distance>
            </AroundBeacon>
        </AroundBeacons>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_wifi_connected_event", """
        <xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>123456789</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[WifiConnected]]></Event>
        <ConnectTime>0</ConnectTime>
        <ExpireTime>0</ExpireTime>
        <VendorId><![CDATA[3001224419]]></VendorId>
        <PlaceId><![CDATA[1234]]></PlaceId>
        <DeviceNo><![CDATA[00:1f:7a:ad:5c:a8]]></DeviceNo>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_qualification_verify_success_event", """
        <xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>1442401156</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[qualification_verify_success]]></Event>
        <ExpiredTime>1442401156</ExpiredTime>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_qualification_verify_fail_event", """
        <xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>1442401156</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[qualification_verify_fail]]></Event>
        <FailTime>1442401122</FailTime>
        <FailReason><![CDATA[by time]]></FailReason>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_naming_verify_success_event", """
        <xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>1442401093</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[naming_verify_success]]></Event>
        <ExpiredTime>1442401093</ExpiredTime>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_naming_verify_fail_event", """
        <xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>1442401061</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[naming_verify_fail]]></Event>
        <FailTime>1442401061</FailTime>
        <FailReason><![CDATA[by time]]></FailReason>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_annual_renew_event", """
        <xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>1442401004</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[annual_renew]]></Event>
        <ExpiredTime>1442401004</ExpiredTime>
        </xml>"""),
    Sample(WECHATPY + "tests/test_events.py::test_verify_expired_event", """
        <xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>1442400900</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[verify_expired]]></Event>
        <ExpiredTime>1442400900</ExpiredTime>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_text_message", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
         <CreateTime>1348831860</CreateTime>
        <MsgType><![CDATA[text]]></MsgType>
        <Content><![CDATA[this is a test]]></Content>
        <MsgId>1234567890123456</MsgId>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_image_message", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1348831860</CreateTime>
        <MsgType><![CDATA[image]]></MsgType>
        <PicUrl><![CDATA[this is a url]]></PicUrl>
        <MediaId><![CDATA[media_id]]></MediaId>
        <MsgId>1234567890123456</MsgId>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_voice_message", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1357290913</CreateTime>
        <MsgType><![CDATA[voice]]></MsgType>
        <MediaId><![CDATA[media_id]]></MediaId>
        <Format><![CDATA[Format]]></Format>
        <MsgId>1234567890123456</MsgId>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_video_message", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1357290913</CreateTime>
        <MsgType><![CDATA[video]]></MsgType>
        <MediaId><![CDATA[media_id]]></MediaId>
        <ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId>
        <MsgId>1234567890123456</MsgId>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_location_message", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1351776360</CreateTime>
        <MsgType><![CDATA[location]]></MsgType>
        <Location_X>23.134521</Location_X>
        <Location_Y>113.358803</Location_Y>
        <Scale>20</Scale>
        <Label><![CDATA[位置信息]]></Label>
        <MsgId>1234567890123456</MsgId>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_link_message", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1351776360</CreateTime>
        <MsgType><![CDATA[link]]></MsgType>
        <Title><![CDATA[公众平台官网链接]]></Title>
        <Description><![CDATA[公众平台官网链接]]></Description>
        <Url><![CDATA[url]]></Url>
        <MsgId>1234567890123456</MsgId>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_subscribe_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>123456789</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[subscribe]]></Event>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_subscribe_event_with_last_trade_no", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>123456789</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[subscribe]]></Event>
        <EventKey><![CDATA[last_trade_no_4008072001201701105817415015]]></EventKey>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_subscribe_scan_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>123456789</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[subscribe]]></Event>
        <EventKey><![CDATA[qrscene_123123]]></EventKey>
        <Ticket><![CDATA[TICKET]]></Ticket>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_scan_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>123456789</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[SCAN]]></Event>
        <EventKey><![CDATA[123123]]></EventKey>
        <Ticket><![CDATA[TICKET]]></Ticket>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_location_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>123456789</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[LOCATION]]></Event>
        <Latitude>23.137466</Latitude>
        <Longitude>113.352425</Longitude>
        <Precision>119.385040</Precision>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_click_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>123456789</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[CLICK]]></Event>
        <EventKey><![CDATA[EVENTKEY]]></EventKey>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_view_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[FromUser]]></FromUserName>
        <CreateTime>123456789</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[VIEW]]></Event>
        <EventKey><![CDATA[www.qq.com]]></EventKey>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_unknown_message", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1348831860</CreateTime>
        <MsgType><![CDATA[notsure]]></MsgType>
        <MsgId>1234567890123456</MsgId>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_subscribe_scan_product_event#1", """<xml>
        <ToUserName><![CDATA[gh_fbe8a958756e]]></ToUserName>
        <FromUserName><![CDATA[otAzGjrS4AYCmeJM1GhEOcHXXTAo]]></FromUserName>
        <CreateTime>1433259128</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[subscribe]]></Event>
        <EventKey><![CDATA[scanbarcode|keystandard|keystr]]></EventKey>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_subscribe_scan_product_event#2", """<xml>
        <ToUserName><![CDATA[gh_fbe8a958756e]]></ToUserName>
        <FromUserName><![CDATA[otAzGjrS4AYCmeJM1GhEOcHXXTAo]]></FromUserName>
        <CreateTime>1433259128</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[subscribe]]></Event>
        <EventKey><![CDATA[scanimage|keystandard|keystr]]></EventKey>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_user_authorize_invoice_event", """<xml>
        <ToUserName><![CDATA[gh_fc0a06a20993]]></ToUserName>
        <FromUserName><![CDATA[oZI8Fj040-be6rlDohc6gkoPOQTQ]]></FromUserName>
        <CreateTime>1475134700</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[user_authorize_invoice]]></Event>
        <SuccOrderId><![CDATA[1202933957956]]></SuccOrderId>
        <FailOrderId><![CDATA[]]></FailOrderId>
        <AppId><![CDATA[wx1234567887654321]]></AppId>
        <Source><![CDATA[]]></Source>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_update_invoice_status_event", """<xml>
        <ToUserName><![CDATA[gh_9e1765b5568e]]></ToUserName>
        <FromUserName><![CDATA[ojZ8Ytz4lESgdWZ34L_R1TvB2Kds]]></FromUserName>
        <CreateTime>1478068440</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[update_invoice_status]]></Event>
        <Status><![CDATA[INVOICE_REIMBURSE_INIT]]></Status>
        <CardId><![CDATA[pjZ8Yt7Um2jYxzneP8GomnxoVFWo]]></CardId>
        <Code><![CDATA[186921658591]]></Code>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_submit_invoice_title_event", """<xml>
        <ToUserName><![CDATA[gh_fc0a06a20993]]></ToUserName>
        <FromUserName><![CDATA[oZI8Fj040-be6rlDohc6gkoPOQTQ]]></FromUserName>
        <CreateTime>1475134700</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[submit_invoice_title]]></Event>
        <title><![CDATA[样例公司抬头]]></title>
        <tax_no><![CDATA[1486715661]]></tax_no>
        <addr><![CDATA[abc]]></addr>
        <phone><![CDATA[13313331333]]></phone>
        <bank_type><![CDATA[bt]]></bank_type>
        <bank_no><![CDATA[bn]]></bank_no>
        <attach><![CDATA[at]]></attach>
        <title_type><![CDATA[InvoiceUserTitleBusinessType]]></title_type>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_device_text_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1348831860</CreateTime>
        <MsgType><![CDATA[device_text]]></MsgType>
        <MsgId>1234567890123456</MsgId>
        <OpenID><![CDATA[123]]></OpenID>
        <DeviceID><![CDATA[123]]></DeviceID>
        <DeviceType><![CDATA[123]]></DeviceType>
        <SessionID><![CDATA[123]]></SessionID>
        <Content><![CDATA[MTIz]]></Content>
        </xml>"""),
    Sample(WECHATPY + "tests/test_parser.py::test_parse_device_bind_event", """<xml>
        <ToUserName><![CDATA[toUser]]></ToUserName>
        <FromUserName><![CDATA[fromUser]]></FromUserName>
        <CreateTime>1348831860</CreateTime>
        <MsgType><![CDATA[device_event]]></MsgType>
        <MsgId>1234567890123456</MsgId>
        <Event><![CDATA[bind]]></Event>
        <OpenID><![CDATA[123]]></OpenID>
        <DeviceID><![CDATA[123]]></DeviceID>
        <DeviceType><![CDATA[123]]></DeviceType>
        <SessionID><![CDATA[123]]></SessionID>
        <Content><![CDATA[MTIz]]></Content>
        </xml>"""),
)
# fmt: on

# Documented pushes with nested elements that wechatpy has no sample of, as WeChat's pages show them.
PUBLISH_DOC = "https://developers.weixin.qq.com/doc/offiaccount/Publish/Callback_on_finish.html"
# fmt: off
DOCUMENTED_SAMPLES: tuple[Sample, ...] = (
    Sample(PUBLISH_DOC + " (成功)", """<xml>
<ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>
<FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName>
<CreateTime>1481013459</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[PUBLISHJOBFINISH]]></Event>
<PublishEventInfo>
<publish_id>2247503051</publish_id>
<publish_status>0</publish_status>
<article_id><![CDATA[b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvy
WP4Hq4]]></article_id>
<article_detail>
<count>1</count>
<item>
<idx>1</idx>
<article_url><![CDATA[ARTICLE_URL]]></article_url>
</item>
</article_detail>
</PublishEventInfo>
</xml>"""),
    Sample(PUBLISH_DOC + " (原创审核不通过)", """<xml>
<ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>
<FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName>
<CreateTime>1481013459</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[PUBLISHJOBFINISH]]></Event>
<PublishEventInfo>
<publish_id>2247503051</publish_id>
<publish_status>2</publish_status>
<fail_idx>1</fail_idx>
<fail_idx>2</fail_idx>
</PublishEventInfo>
</xml>"""),
)
# fmt: on


def sample(test_name: str) -> str:
    """The XML of the wechatpy sample of that test (``test_template_subscribe_msg_popup_event``...)."""
    [found] = [s.xml for s in WECHATPY_SAMPLES if s.source.endswith("::" + test_name)]
    return found
