"""Login (``wx.login`` code → our own session token), the phone number, logout, and "me".

The ``session_key`` WeChat gives at login is stored encrypted and never leaves the server: not in
a response, not in the token, not in a log (catalogue M-02). The token is opaque (M-10).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from backend.accounts import service as accounts
from backend.accounts.delegation import delegations_of
from backend.accounts.models import CustomerAccount
from backend.accounts.opendata import OpenDataError, decrypt_open_data
from backend.accounts.sessions import close_session, open_session
from backend.deps import CipherDep, DbSession, RuntimeDep
from backend.errors import Conflict, Forbidden, ServiceError, Unauthorized
from backend.gateways.miniprogram import CodeInvalid, LoginBlocked, LoginRateLimited, MiniProgramGateway
from backend.gateways.wechat import WechatApiError
from backend.privacy.service import privacy_notice_accepted
from backend.ratelimit import RateLimited
from backend.security.masking import mask_phone
from miniprogram_api.deps import ClientIp, CurrentCustomer, limit
from miniprogram_api.schemas import In

router = APIRouter(tags=["登录"])
CHANNEL = "mini_program"


class LoginIn(In):
    code: str = Field(
        min_length=1,
        max_length=128,
        description="wx.login() 得到的 code（5 分钟内、只能用一次）",
        examples=["0a1b2c3d4e5f"],
    )


class PhoneIn(In):
    """Either ``code`` (the getPhoneNumber button's code, preferred) or legacy ``encrypted_data`` + ``iv``."""

    code: str | None = Field(default=None, min_length=1, max_length=128, examples=["p0a1b2c3d4"])
    encrypted_data: str | None = Field(default=None, min_length=1, max_length=4096)
    iv: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_form(self) -> PhoneIn:
        if (self.code is None) == (self.encrypted_data is None or self.iv is None):
            raise ValueError("give code, or encrypted_data and iv")
        return self


class InsuredOut(BaseModel):
    id: int = Field(examples=[3], description="被保险人编号（报案时用）")
    name_masked: str = Field(examples=["陈*婆"])
    relation: str = Field(examples=["parent"])
    scope: str = Field(
        examples=["reported"], description="own 本人；reported 只看自己报的案；all 家人已授权看全部"
    )


class MeOut(BaseModel):
    account_id: int = Field(examples=[12])
    phone_masked: str | None = Field(default=None, examples=["138****5678"])
    privacy_notice_version: str | None = Field(
        default=None, examples=["privacy-2026-01"], description="已同意的隐私说明版本"
    )
    insured: list[InsuredOut] = Field(default_factory=list)


class LoginOut(BaseModel):
    token: str = Field(description="放在 Authorization: Bearer 后面", examples=["x3Jq…"])
    expires_in: int = Field(description="多少秒不用就失效（每次使用都会续期）", examples=[604800])
    me: MeOut


def gateway(runtime: RuntimeDep) -> MiniProgramGateway:
    """The mini-program's WeChat API (503 when the AppId and secret are not set)."""
    mp = runtime.settings.miniprogram
    if not mp.configured:
        raise ServiceError("login_unavailable", "小程序登录还没有开通，请稍后再试", status_code=503)
    if runtime.miniprogram_gateway is None:
        runtime.miniprogram_gateway = MiniProgramGateway(
            app_id=mp.app_id,
            app_secret=mp.app_secret.get_secret_value(),
            redis_client=runtime.redis,
            api_base_url=mp.api_base_url,
            timeout_s=mp.api_timeout_s,
        )
    return runtime.miniprogram_gateway


Gateway = Annotated[MiniProgramGateway, Depends(gateway)]


def me_view(db: DbSession, account: CustomerAccount, cipher: CipherDep) -> MeOut:
    insured = [
        InsuredOut(id=d.id, name_masked=d.insured_name_masked, relation=d.relation, scope=d.scope)
        for d in delegations_of(db, account_id=account.id)
    ]
    return MeOut(
        account_id=account.id,
        phone_masked=mask_phone(accounts.phone_of(account, cipher=cipher)),
        privacy_notice_version=privacy_notice_accepted(db, channel=account.channel, user_id=account.openid),
        insured=insured,
    )


def _wechat_error(exc: WechatApiError) -> ServiceError:
    if isinstance(exc, CodeInvalid):
        return Unauthorized("login_code_invalid", "请重新登录")
    if isinstance(exc, LoginRateLimited):
        return RateLimited(60)
    if isinstance(exc, LoginBlocked):
        return Forbidden("login_blocked", "微信暂时不允许这个账号登录，请稍后再试或拨打客服电话")
    return ServiceError("wechat_unavailable", "微信暂时连不上，请稍后再试", status_code=503)


@router.post("/auth/login", response_model=LoginOut, summary="用 wx.login 的 code 登录")
def login(
    body: LoginIn, runtime: RuntimeDep, db: DbSession, cipher: CipherDep, ip: ClientIp, wx: Gateway
) -> LoginOut:
    """Exchange the code with WeChat (jscode2session) and open a session; the same person on the official
    account is linked by unionid when WeChat gives it."""
    limit(runtime, "login_per_ip", ip)
    try:
        got = wx.code_to_session(body.code)
    except WechatApiError as exc:
        raise _wechat_error(exc) from None
    account = accounts.record_login(
        db,
        cipher=cipher,
        channel=CHANNEL,
        openid=got.openid,
        unionid=got.unionid,
        session_key=got.session_key,
        now=runtime.clock(),
    )
    idle = runtime.settings.miniprogram.session_idle_s
    token = open_session(
        runtime.redis, account_id=account.id, channel=CHANNEL, openid=account.openid, idle_s=idle
    )
    return LoginOut(token=token, expires_in=idle, me=me_view(db, account, cipher))


@router.post("/auth/phone", response_model=MeOut, summary="保存微信验证过的手机号")
def phone(
    body: PhoneIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    db: DbSession,
    cipher: CipherDep,
    wx: Gateway,
) -> MeOut:
    """The current ``getuserphonenumber`` code, or the legacy encryptedData form (decrypted with the
    session key of this login; the watermark must carry our AppId and be recent)."""
    account = customer.account
    mp = runtime.settings.miniprogram
    if body.code is not None:
        try:
            info = wx.phone_number(body.code)
        except CodeInvalid:
            raise ServiceError("phone_code_invalid", "手机号获取失败，请再点一次“获取手机号”") from None
        except WechatApiError as exc:
            raise _wechat_error(exc) from None
        if info.watermark_appid not in (None, mp.app_id):
            raise ServiceError("invalid_open_data", "手机号信息不对，请重新获取")
        number = info.phone
    else:
        key = accounts.session_key_of(account, cipher=cipher)
        try:
            if key is None:
                raise OpenDataError("no_session_key")
            data = decrypt_open_data(
                session_key=key,
                encrypted_data=body.encrypted_data or "",
                iv=body.iv or "",
                app_id=mp.app_id,
                now_ts=runtime.clock().timestamp(),
                max_age_s=mp.watermark_max_age_s,
            )
        except OpenDataError as exc:
            if exc.code in ("wrong_appid", "not_base64", "malformed"):
                raise ServiceError("invalid_open_data", "手机号信息不对，请重新获取") from None
            raise Conflict(
                "relogin_required", "请重新登录后再获取手机号", detail={"reason": exc.code}
            ) from None
        number = str(data.get("purePhoneNumber") or "")
        if not number:
            raise ServiceError("invalid_open_data", "手机号信息不对，请重新获取")
    accounts.set_phone(db, cipher=cipher, account=account, phone=number, now=runtime.clock())
    return me_view(db, account, cipher)


class LogoutOut(BaseModel):
    logged_out: bool = Field(examples=[True])


@router.post("/auth/logout", response_model=LogoutOut, summary="退出登录")
def logout(customer: CurrentCustomer, runtime: RuntimeDep) -> LogoutOut:
    """The token stops working at once."""
    close_session(runtime.redis, token=customer.token)
    return LogoutOut(logged_out=True)


@router.get("/me", response_model=MeOut, summary="我的账号")
def me(customer: CurrentCustomer, db: DbSession, cipher: CipherDep) -> MeOut:
    """The account: masked phone, privacy notice accepted, the insured people it acts for."""
    return me_view(db, customer.account, cipher)
