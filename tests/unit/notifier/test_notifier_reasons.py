import pytest

from services.notifier.domain import withdrawal_reasons


def reasons(reason: str, locale: str = "en") -> list[str]:
    return withdrawal_reasons(reason, locale=locale, you="p-1", partner_id="p-10", partner_name="Raj")


def test_person_specific_rules_name_the_partner_or_you_and_never_an_id():
    assert reasons("inactive: p-10") == ["Raj is no longer taking part"]
    assert reasons("inactive: p-1") == ["you are no longer taking part"]
    assert reasons("inactive: p-99") == ["one of you is no longer taking part"]
    assert reasons("no_capacity: p-10 has 1 of 1 partners") == ["Raj already has as many partners as they asked for"]


def test_several_reasons_keep_their_order_once_each_and_drop_unknown_ones():
    assert reasons("no_shared_language: ['en'] vs ['fr']; what_is_this: x; no_value: p-1 offers nothing p-10 wants; "
                   "no_value: p-10 offers nothing p-1 wants") == [
        "you no longer share a language", "the skills you offer and want no longer fit each other"]
    assert reasons("") == [] and reasons("different_org: a / b / program a") == []


@pytest.mark.parametrize("locale", ["en", "en-GB", "en_US", "xx", ""])
def test_unknown_languages_fall_back_to_english(locale):
    assert reasons("proposal expired", locale) == ["the proposal expired before you both accepted it"]
