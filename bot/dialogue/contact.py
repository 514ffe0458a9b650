"""Contact information from the product's ``contact`` section (never an invented number)."""

from __future__ import annotations

from bot.dialogue.context import Turn


def answer(turn: Turn) -> None:
    """Hotline, offices and opening hours, or an honest "not published yet"."""
    product = turn.product
    if product.contact.hotline:
        turn.say("ct_hotline", hotline=product.contact.hotline)
    else:
        turn.say("ct_no_hotline")
    offices = [f"{o.get('name', '')} {o.get('address', '')}".strip() for o in product.contact.offices]
    if offices:
        turn.say("ct_offices", offices="；".join(offices))
    else:
        turn.say("ct_no_offices")
    hours(turn)


def hours(turn: Turn) -> bool:
    """The opening hours alone (办事处几点关门, asked beside another request); False when unpublished."""
    extra = turn.product.service_standards.model_extra or {}
    if not (extra.get("office_open") and extra.get("office_close")):
        return False
    turn.say("ct_hours", open=extra["office_open"], close=extra["office_close"])
    return True
