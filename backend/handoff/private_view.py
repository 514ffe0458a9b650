"""The private values of a claim or complaint that the chat view's side panel shows masked, each one
that ``POST /api/console/reveal`` can show in clear (with a reason, audited: ``backend.staff.reveal``).

The fields are looked up where the reveal route looks them up (the columns' ``reveal`` declaration), so
the panel never offers 查看 for a field the route would refuse as not revealable. Empty values are left
out; a value that does not decrypt is shown as the usual notice."""

from __future__ import annotations

from collections.abc import Callable

from backend.claims.models import Claim
from backend.complaints.models import Complaint
from backend.db import Base
from backend.handoff.action_schemas import PrivateFieldOut
from backend.privacy.views import UNREADABLE, decrypted
from backend.security.columns import revealable_fields
from backend.security.crypto import FieldCipher
from backend.security.masking import mask_bank_account, mask_id_number, mask_phone
from backend.staff.reveal import REVEAL_ROLES

_Mask = Callable[[str | None], str | None]
SHOWN: dict[str, tuple[tuple[str, str, _Mask], ...]] = {
    Claim.OBJECT_TYPE: (("insured_id_number", "身份证号", mask_id_number),
                        ("reporter_phone", "报案人电话", mask_phone),
                        ("bank_account", "银行卡号", mask_bank_account)),
    Complaint.OBJECT_TYPE: (("contact_phone", "回电电话", mask_phone),),
}


def may_reveal(role: str) -> bool:
    """The reveal route's own rule (agents are refused): the panel offers 查看 only to these roles."""
    return role in REVEAL_ROLES


def private_fields(obj: Claim | Complaint, cipher: FieldCipher) -> list[PrivateFieldOut]:
    """The object's shown private values, masked, with the field name the reveal route takes."""
    revealable = revealable_fields(Base.registry)
    out = []
    for field, label, mask in SHOWN[obj.OBJECT_TYPE]:
        spec = revealable[(obj.OBJECT_TYPE, field)]
        clear = decrypted(cipher, getattr(obj, spec.attr), spec.purpose)
        if not clear:
            continue
        out.append(PrivateFieldOut(field=field, label=label,
                                   masked=clear if clear == UNREADABLE else (mask(clear) or "")))
    return out
