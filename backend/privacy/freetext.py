"""Free text encrypted at rest (catalogue D-01, C-01).

People type phone numbers, ID numbers, bank cards and health details into free-text fields (an
accident's description, the hospital, a complaint, a staff note), so those columns hold only a
FieldCipher token (``*_enc``). A model lists its free-text fields in ``FREE_TEXT``
(``{field: (column attribute, purpose)}``); services write them with :func:`set_free_text` and read them
with :func:`free_text`. Validation (length, blanks) happens on the clear text, before encryption.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from backend.security.crypto import FieldCipher


class HasFreeText(Protocol):
    """A model with encrypted free-text fields."""

    FREE_TEXT: ClassVar[dict[str, tuple[str, str]]]


def _spec(obj: HasFreeText, field: str) -> tuple[str, str]:
    try:
        return obj.FREE_TEXT[field]
    except KeyError:
        raise KeyError(f"{type(obj).__name__} has no free-text field {field!r}") from None


def seal(value: str | None, *, cipher: FieldCipher, purpose: str) -> str | None:
    """Encrypt a free-text value for ``purpose`` (None stays None)."""
    return None if value is None else cipher.encrypt(value, purpose=purpose)


def free_text(obj: HasFreeText, field: str, *, cipher: FieldCipher) -> str | None:
    """The clear value of one free-text field (None when empty); CryptoError if it does not decrypt."""
    attr, purpose = _spec(obj, field)
    token: str | None = getattr(obj, attr)
    return None if token is None else cipher.decrypt(token, purpose=purpose)


def row_free_text(model: type[Any], row: Any, field: str, *, cipher: FieldCipher) -> str | None:
    """As :func:`free_text`, for a row of selected columns of ``model`` (its column attribute among them)
    rather than a loaded object: a read of a few columns need not load whole objects."""
    attr, purpose = model.FREE_TEXT[field]
    token: str | None = getattr(row, attr)
    return None if token is None else cipher.decrypt(token, purpose=purpose)


def set_free_text(obj: HasFreeText, field: str, value: str | None, *, cipher: FieldCipher) -> None:
    """Store one free-text field encrypted (None clears it)."""
    attr, purpose = _spec(obj, field)
    setattr(obj, attr, seal(value, cipher=cipher, purpose=purpose))


def sealed_fields(
    model: type[Any], values: Mapping[str, str | None], *, cipher: FieldCipher
) -> dict[str, Any]:
    """Constructor keywords ``{column attribute: token}`` for the free-text ``values`` of ``model``."""
    spec: Mapping[str, tuple[str, str]] = model.FREE_TEXT
    out: dict[str, Any] = {}
    for field, value in values.items():
        attr, purpose = spec[field]
        out[attr] = seal(value, cipher=cipher, purpose=purpose)
    return out
