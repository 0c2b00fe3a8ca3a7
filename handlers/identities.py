"""Normalising the ways a customer can be recognised: phone, Telegram id, e-mail."""

from __future__ import annotations

import re

import phonenumbers

from handlers.errors import InvalidInput
from handlers.inputs import whole_number

KINDS = ("phone", "telegram", "email")


# What people and PBXs put between digits: spaces, dashes, dots, brackets, slashes.
SEPARATORS = re.compile(r"[\s\-().\/]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def _e164(number: phonenumbers.PhoneNumber) -> str:
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("not a valid phone number", field="phone")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidInput("not a phone number", field="phone") from error


def national_number(digits: str, region: str) -> phonenumbers.PhoneNumber | None:
    """`digits` as a national significant number of `region`, if it is a valid one there."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or not digits or digits.startswith("0") or len(digits) > 17:
        return None
    number = phonenumbers.PhoneNumber(country_code=metadata.country_code, national_number=int(digits))
    return number if phonenumbers.is_valid_number_for_region(number, region) else None


def normalise_phone(raw: str, region: str = "CN") -> str:
    """E.164 for any national or international spelling, read as PBXs (and Zammad) send them:
    `+…` and `00…` are international; a leading single `0` is the national prefix of
    `region`; other digits are a national number of `region` only when they are a valid one
    there, otherwise international (491715000000 is +491715000000). So 013800000003,
    13800000003, 8613800000003, +86 138 0000 0003 and 0086 138 0000 0003 are all
    +8613800000003 for region CN. Digits that are neither valid nationally nor
    internationally are given to `phonenumbers` as a last try (a national prefix other
    than 0, such as Russia's 8)."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("phone number is empty", field="phone")
    region = region.upper()
    compact = SEPARATORS.sub("", text)
    if not _ASCII_DIGITS.fullmatch(compact):
        return _e164(_parse(text, region))
    if compact.startswith("00"):
        return _e164(_parse("+" + compact[2:], region))
    if compact.startswith("0"):
        return _e164(_parse(compact, region))
    national = national_number(compact, region)
    if national is not None:
        return _e164(national)
    try:
        return _e164(_parse("+" + compact, region))
    except InvalidInput:
        return _e164(_parse(compact, region))


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
