"""One phone reader for lookup, import and routing: how PBXs (and Zammad) write numbers."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from handlers.errors import InvalidInput
from handlers.identities import national_number, normalise_phone
from handlers.phone_fast import PhoneReader
from handlers.routing.route import caller_language

REGIONS = ("CN", "DE", "GB", "US", "CH", "FR", "IN", "BR", "JP", "RU")
KINDS = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)


@st.composite
def valid_numbers(draw: st.DrawFn) -> str:
    """A valid number of some country in E.164: an example number with its tail redrawn."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(KINDS)))
    assume(example is not None)
    nsn = str(example.national_number)
    keep = draw(st.integers(min_value=min(3, len(nsn)), max_value=len(nsn)))
    tail = draw(st.text(alphabet="0123456789", min_size=len(nsn) - keep, max_size=len(nsn) - keep))
    number = phonenumbers.parse(f"+{example.country_code}{nsn[:keep]}{tail}")
    assume(phonenumbers.is_valid_number(number))
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def read(raw: str, region: str) -> str | None:
    try:
        return normalise_phone(raw, region)
    except InvalidInput:
        return None


def read_fast(raw: str, region: str) -> str | None:
    try:
        return PhoneReader(region).read(raw)
    except InvalidInput:
        return None


@settings(max_examples=400, deadline=None)
@given(e164=valid_numbers(), region=st.sampled_from(("CN", "DE", "US", "GB")))
def test_a_valid_number_with_plus_with_00_or_bare_international_reads_back_the_same(
    e164: str, region: str
) -> None:
    assert read(e164, region) == e164
    assert read("00" + e164[1:], region) == e164
    # Bare digits are international unless they are a valid national number here.
    assume(national_number(e164[1:], region) is None)
    assert read(e164[1:], region) == e164


@settings(max_examples=400, deadline=None)
@given(
    e164=valid_numbers(),
    region=st.sampled_from(("CN", "DE", "US", "GB", "RU")),
    shape=st.sampled_from(("{plus}", "00{bare}", "{bare}", "0{bare}", "{bare3} {rest}", "({bare3}) {rest}")),
)
def test_the_import_fast_path_reads_every_spelling_as_the_reader_does(
    e164: str, region: str, shape: str
) -> None:
    bare = e164[1:]
    raw = shape.format(plus=e164, bare=bare, bare3=bare[:3], rest=bare[3:])
    assert read_fast(raw, region) == read(raw, region)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("491715000000", "+491715000000"),  # Zammad's blocked caller: not a Chinese number
        ("4930600000000", "+4930600000000"),
        ("00491715000000", "+491715000000"),
        ("13800000666", "+8613800000666"),  # a valid Chinese mobile stays national
        ("013800000666", "+8613800000666"),
        ("8613800000004", "+8613800000004"),
    ],
)
def test_digits_are_read_as_zammads_pbxs_send_them(raw: str, e164: str) -> None:
    assert normalise_phone(raw, "CN") == e164
    assert PhoneReader("CN").read(raw) == e164


def test_a_leading_zero_is_the_national_prefix_of_the_default_region() -> None:
    assert normalise_phone("030 600000000", "DE") == "+4930600000000"
    assert normalise_phone("0 20 7946 0018", "GB") == "+442079460018"


def test_a_national_prefix_other_than_zero_still_reads_when_nothing_else_fits() -> None:
    assert normalise_phone("8 916 123 45 67", "RU") == "+79161234567"


def greeting_by_parse(caller: str, region: str) -> str:
    """How a stranger's greeting language was found before the shortcut: by parsing."""
    try:
        country = phonenumbers.region_code_for_number(phonenumbers.parse(caller))
    except phonenumbers.NumberParseException:
        return "zh"
    return "en" if country and country != region else "zh"


@settings(max_examples=300, deadline=None)
@example(number="+14165550123", region="US")  # Toronto: +1 is shared, the parse says CA
@example(number="+8613800000001", region="CN")
@example(number="+447700900123", region="CN")
@given(
    number=st.one_of(valid_numbers(), st.text(alphabet="+0123456789", min_size=1, max_size=16)),
    region=st.sampled_from(REGIONS),
)
def test_a_strangers_greeting_language_is_the_one_their_number_parses_to(number: str, region: str) -> None:
    caller = number if number.startswith("+") else "+" + number
    assert caller_language(False, None, caller, region) == greeting_by_parse(caller, region)
