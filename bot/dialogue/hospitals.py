"""A place of care said the way people say it, with its official name for staff: 汕大一附院 →
汕大一附院（汕头大学医学院第一附属医院）, 陈店卫生院 → 陈店卫生院（陈店镇卫生院）. The customer's own words
stay first (they recognise them at the confirmation); the names are in ``config/dialogue.yaml``,
``extract.hospital_names``. A name of another district is kept as said."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_OTHER_DISTRICTS = ("潮阳", "濠江", "金平", "龙湖", "澄海", "南澳", "揭阳", "普宁", "汕尾", "广州", "深圳")
_SUBDISTRICTS = ("峡山",)  # 峡山街道, not a 镇


def official_name(said: str, names: Mapping[str, Sequence[str]], towns: Sequence[str]) -> str:
    """The place ``said`` with its official name after it in brackets, when that is another name."""
    official = _official(said, names, towns)
    return said if official == said else f"{said}（{official}）"


def _official(said: str, names: Mapping[str, Sequence[str]], towns: Sequence[str]) -> str:
    if any(d in said for d in _OTHER_DISTRICTS):
        return said
    for official, aliases in names.items():
        if said == official or any(alias in said for alias in aliases):
            return official
    town = next((t for t in towns if re.fullmatch(rf"{t}(?:卫生院|医院)", said)), None)
    if town is not None and said.endswith("卫生院"):
        return f"{town}{'街道' if town in _SUBDISTRICTS else '镇'}卫生院"
    return said
