"""Why a match was withdrawn, in plain words for its recipient.

The matcher's reasons are machine strings joined by "; ": "<code>: <detail>" for a broken rule
(e.g. "no_shared_language: ['en'] vs ['fr']"), "<person_id> left the program" and "proposal expired".
Known ones become short clauses; details (ids, lists) are never shown. Anything else is left out,
and the templates fall back to a general sentence.
"""

from dataclasses import dataclass

LEFT_SUFFIX = " left the program"
EXPIRED = "proposal expired"


@dataclass(frozen=True)
class Phrase:
    you: str
    partner: str = ""  # "{name}" is the partner's name
    either: str = ""

    def about(self, who: str | None, name: str) -> str:
        if who == "you":
            return self.you
        if who == "partner" and self.partner:
            return self.partner.format(name=name)
        return self.either or self.you


# One table per language (the first part of the recipient's locale); English is the fallback.
PHRASES: dict[str, dict[str, Phrase]] = {
    "en": {
        "left": Phrase("you left the programme", "{name} left the programme", "one of you left the programme"),
        "expired": Phrase("the proposal expired before you both accepted it"),
        "inactive": Phrase("you are no longer taking part", "{name} is no longer taking part",
                           "one of you is no longer taking part"),
        "not_in_program": Phrase("you are no longer in this programme", "{name} is no longer in this programme",
                                 "one of you is no longer in this programme"),
        "no_capacity": Phrase("you already have as many partners as you asked for",
                              "{name} already has as many partners as they asked for",
                              "one of you already has as many partners as they asked for"),
        "manager_relationship": Phrase("one of you now manages the other"),
        "previously_paired": Phrase("you have been paired before"),
        "no_shared_language": Phrase("you no longer share a language"),
        "no_shared_meeting_mode": Phrase("you no longer share a way to meet"),
        "insufficient_overlap": Phrase("your available times no longer overlap enough for a full session"),
        "same_department": Phrase("this programme now pairs people from different departments only"),
        "no_value": Phrase("the skills you offer and want no longer fit each other"),
    },
}


def withdrawal_reasons(reason: str, *, locale: str, you: str, partner_id: str, partner_name: str) -> list[str]:
    """The known parts of `reason` as clauses ("you no longer share a language"), in order, without repeats."""
    phrases = PHRASES.get(locale.replace("_", "-").split("-")[0].lower(), PHRASES["en"])
    clauses = []
    for part in filter(None, (p.strip() for p in reason.split(";"))):
        key, detail = _key_and_detail(part)
        phrase = phrases.get(key)
        if phrase is not None:
            clauses.append(phrase.about(_who(detail, you, partner_id), partner_name))
    return list(dict.fromkeys(clauses))


def _key_and_detail(part: str) -> tuple[str, str]:
    if part == EXPIRED:
        return "expired", ""
    if part.endswith(LEFT_SUFFIX):
        return "left", part.removesuffix(LEFT_SUFFIX)
    code, _, detail = part.partition(":")
    return code.strip(), detail.strip()


def _who(detail: str, you: str, partner_id: str) -> str | None:
    """Whether a rule's detail names the recipient or the partner first ("p-1 has 2 of 2 partners")."""
    for who, person_id in (("you", you), ("partner", partner_id)):
        if detail == person_id or detail.startswith(person_id + " "):
            return who
    return None
