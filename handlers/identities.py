"""Normalising the ways a customer can be recognised: phone, Telegram id, e-mail."""

from __future__ import annotations

import phonenumbers

from handlers.errors import InvalidInput
from handlers.inputs import whole_number

KINDS = ("phone", "telegram", "email")


def normalise_phone(raw: str, region: str = "CN") -> str:
    """E.164 for any national or international spelling: 013800000003, 8613800000003,
    +86 138 0000 0003 and 0086 138 0000 0003 are all +8613800000003 for region CN."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("phone number is empty", field="phone")
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as error:
        raise InvalidInput("not a phone number", field="phone") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("not a valid phone number", field="phone")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise(kind: str, raw: str, region: str = "CN") -> str:
    if kind == "phone":
        return normalise_phone(raw, region)
    if kind == "email":
        value = (raw or "").strip().lower()
        local, at, domain = value.partition("@")
        if not (local and at and "." in domain) or " " in value:
            raise InvalidInput("not an e-mail address", field="email")
        return value
    if kind == "telegram":
        value = str(raw).strip()
        if whole_number(value, low=1) is None:
            raise InvalidInput("a Telegram user id is a number", field="telegram")
        return value
    raise InvalidInput(f"unknown identity kind {kind!r}", field="kind", allowed=list(KINDS))


def mask(value: str) -> str:
    """What logs may show of an identity: enough to correlate, not enough to dial."""
    if len(value) <= 4:
        return "***"
    return value[:3] + "*" * (len(value) - 5) + value[-2:]
