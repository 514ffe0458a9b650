"""Shared pieces of the mini-program API's models: the error responses (``backend.errors.ErrorOut``:
``{"error": {"code", "message", "detail"}}``, ``message`` in Chinese), lists, pages, money."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.errors import ErrorOut

T = TypeVar("T")


def _has_control(value: Any) -> bool:
    if isinstance(value, str):
        return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)
    if isinstance(value, dict):
        return any(_has_control(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_control(v) for v in value)
    return False


class In(BaseModel):
    """Request bodies: unknown fields are ignored (never assigned: no mass assignment, M-04); control
    characters (NUL…) are refused in every text."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        if _has_control(data):
            raise ValueError("control characters are not allowed")
        return data


class Items(BaseModel, Generic[T]):
    """A short, complete list (no paging)."""

    items: list[T]


class Page(BaseModel, Generic[T]):
    """One page, newest first; pass ``next_before`` as ``before`` for the next page (null: no more)."""

    items: list[T]
    next_before: int | None = Field(default=None, examples=[None])


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "输入有误"),
        (401, "没有登录或登录已过期：请重新登录"),
        (403, "需要先同意或没有权限"),
        (404, "不存在，或不是您的"),
        (409, "状态冲突（如重复提交、已经处理）"),
        (413, "文件太大或太多"),
        (422, "字段格式不对"),
        (429, "太频繁：按 Retry-After 秒后再试"),
        (503, "系统正忙：稍后再试"),
    )
}


def yuan(fen: int | None) -> str | None:
    """Fen as a yuan string (``12345`` → ``"123.45"``)."""
    if fen is None:
        return None
    return f"{fen // 100}.{fen % 100:02d}"
