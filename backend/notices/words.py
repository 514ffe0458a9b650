"""A notice's parameters in plain words: the stage, the next step with its expected date, and a note
when that date is provisional (a year without holiday data yet)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.notices.templates import NoticeBook, render


def date_words(iso: str) -> str:
    """``2026-12-03`` → ``12月3日``."""
    day = dt.date.fromisoformat(iso)
    return f"{day.month}月{day.day}日"


def words(book: NoticeBook, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters plus their plain-word forms (``stage``, ``next_step``, ``date``, ``note``…)."""
    out = dict(params)
    provisional = bool(params.get("provisional"))
    out["provisional"] = book.words.get("provisional_mark", "") if provisional else ""
    if params.get("date"):
        out["date"] = date_words(str(params["date"]))
    state = params.get("state")
    if state:
        out["stage"] = book.stage_words.get(str(state), str(state))
        out["next_step"] = render(book.next_step_words.get(str(state), ""), out)
    out["note"] = book.words.get("provisional_note" if provisional else "default_note", "")
    return out


def notice_text(book: NoticeBook, kind: str, params: dict[str, Any]) -> str:
    """The notice in plain words (as told to the customer)."""
    return render(book.kind(kind).text, words(book, params)).replace("。。", "。")


def notice_brief(book: NoticeBook, kind: str, params: dict[str, Any]) -> str:
    """The notice in a few words (its kind's ``brief``, else its text)."""
    spec = book.kind(kind)
    return render(spec.brief or spec.text, words(book, params)).replace("。。", "。").rstrip("。")
