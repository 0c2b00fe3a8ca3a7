import pytest

from handlers.errors import InvalidInput
from handlers.identities import mask, normalise, normalise_phone


@pytest.mark.parametrize(
    "spelling",
    ["013800000003", "8613800000003", "+86 138 0000 0003", "0086 138 0000 0003", "138-0000-0003"],
)
def test_every_spelling_of_a_chinese_mobile_is_the_same_e164_number(spelling: str) -> None:
    assert normalise_phone(spelling, "CN") == "+8613800000003"


def test_a_foreign_number_keeps_its_country_code() -> None:
    assert normalise_phone("+1 (415) 555-0100", "CN") == "+14155550100"


def test_the_default_region_decides_how_a_national_number_is_read() -> None:
    assert normalise_phone("020 7946 0018", "GB") == "+442079460018"


@pytest.mark.parametrize("garbage", ["", "12345", "call me", "+86 1"])
def test_garbage_is_refused_with_a_message(garbage: str) -> None:
    with pytest.raises(InvalidInput, match="phone"):
        normalise_phone(garbage)


def test_email_is_case_folded_and_checked() -> None:
    assert normalise("email", " Emily@Example.COM ") == "emily@example.com"
    with pytest.raises(InvalidInput):
        normalise("email", "not-an-address")


def test_logs_see_only_a_masked_number() -> None:
    masked = mask("+8613800000003")
    assert "13800000003" not in masked
    assert masked.startswith("+86")
    assert masked.endswith("03")
