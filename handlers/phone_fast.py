"""A fast path in front of `normalise_phone` for the common case of a bulk import.

`phonenumbers` costs ~20 µs a number, which is most of an import's Python time. Most rows
of an operator's file hold a mobile number of the default region in one of a few shapes
(bare, with the national prefix, with the country code, with spaces or dashes). For those
we check the number against the same metadata `phonenumbers` uses (the region's general
and mobile patterns and lengths) and build the E.164 form directly. Anything else goes
to `normalise_phone`, so the answer is always the one `normalise_phone` gives; a
property test compares the two on random numbers of every shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

from handlers.identities import SEPARATORS, normalise_phone

_DIGITS = re.compile(r"\+?[0-9]+")


def _matcher(*descs: object) -> Callable[[str], bool]:
    """Whether a national number matches every one of these descriptions (pattern and
    lengths): one regular expression, its lookaheads the descriptions but the last."""
    patterns = [getattr(desc, "national_number_pattern", None) for desc in descs]
    if not all(patterns):
        return lambda _nsn: False
    allowed = [set(getattr(desc, "possible_length", None) or ()) for desc in descs]
    lengths = set.intersection(*[each for each in allowed if each] or [set()])
    restricted = any(allowed)
    compiled = re.compile(
        "".join(f"(?=(?:{pattern})\\Z)" for pattern in patterns[:-1]) + f"(?:{patterns[-1]})"
    )
    if not restricted:
        return lambda nsn: compiled.fullmatch(nsn) is not None
    return lambda nsn: len(nsn) in lengths and compiled.fullmatch(nsn) is not None


class PhoneReader:
    """`read(raw)` equals `normalise_phone(raw, region)`, only faster for the region's mobiles."""

    def __init__(self, region: str) -> None:
        self.region = region.upper()
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(self.region)
        self._country = ""
        self._prefixes: tuple[str, ...] = ()
        self._mobile: Callable[[str], bool] = lambda _nsn: False  # and a valid number at all
        if metadata is None or metadata.mobile is None or metadata.general_desc is None:
            return
        self._country = str(metadata.country_code)
        self._mobile = _matcher(metadata.general_desc, metadata.mobile)
        general_pattern = re.compile(f"(?:{metadata.general_desc.national_number_pattern})")
        # Bare digits are a national number when they are a valid one, else international
        # (normalise_phone); we take the bare country code only when the whole number does
        # not even match the region's general pattern, so it cannot be a valid national one.
        self._bare_country_ok: Callable[[str], bool] = lambda text: general_pattern.fullmatch(text) is None
        # 00 is read as the international prefix whatever the region's own. A national prefix
        # other than 0 (Russia's 8) is first read as the start of an international number,
        # so only 0, or one that is also the country code (1 in the US), is safe to strip here.
        national_prefix = metadata.national_prefix or ""
        if national_prefix not in ("0", self._country):
            national_prefix = ""
        candidates = {"+" + self._country, "00" + self._country, self._country, national_prefix, ""}
        # Longest first, so "+86" is tried before "86".
        self._prefixes = tuple(sorted(candidates, key=len, reverse=True))

    def _fast(self, raw: str) -> str | None:
        if not (raw.isascii() and raw.isdigit()):  # bare digits need no cleaning (a third of a read)
            raw = SEPARATORS.sub("", raw)
            if not _DIGITS.fullmatch(raw):
                return None
        text = raw
        for prefix in self._prefixes:
            if text.startswith(prefix):
                if prefix == self._country and not self._bare_country_ok(text):
                    continue
                nsn = text[len(prefix) :]
                if self._mobile(nsn):
                    return "+" + self._country + nsn
        return None

    def read(self, raw: str) -> str:
        """E.164, or InvalidInput exactly as `normalise_phone` raises it."""
        if self._prefixes:
            found = self._fast(raw)
            if found is not None:
                return found
        return normalise_phone(raw, self.region)
