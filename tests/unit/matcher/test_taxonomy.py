import pytest

from services.matcher.domain import SKILLS, normalise_skill
from services.matcher.domain.taxonomy import ALIASES


@pytest.mark.parametrize("typed", ["Social media", "social-media", "SMM", "  SOCIAL_MEDIA ", "social media."])
def test_social_media_spellings_meet(typed):
    assert normalise_skill(typed) == "social media"


@pytest.mark.parametrize("typed", ["leadership", "Leading a team", "team-leadership", "LEADING PEOPLE"])
def test_leadership_aliases(typed):
    assert normalise_skill(typed) == "leadership"


def test_people_management_is_its_own_skill():
    assert normalise_skill("Managing people") == "people management"
    assert normalise_skill("line management") == "people management"


def test_unknown_skill_is_cleaned_not_dropped():
    assert normalise_skill("  Quantum   Basket-Weaving! ") == "quantum basket weaving"


def test_program_aliases_extend_and_can_point_at_shipped_aliases():
    extra = {"TikTok": "SMM", "Kubernetes": "k8s ops"}
    assert normalise_skill("tiktok", extra) == "social media"
    assert normalise_skill("kubernetes", extra) == "k8s ops"
    assert normalise_skill("tiktok") == "tiktok"


def test_program_aliases_override_shipped_ones():
    assert normalise_skill("PM") == "project management"
    assert normalise_skill("PM", {"pm": "product management"}) == "product management"


def test_taxonomy_size_and_canonical_names_are_fixed_points():
    assert 55 <= len(SKILLS) <= 80
    for skill in SKILLS:
        assert normalise_skill(skill) == skill
    assert set(ALIASES.values()) == set(SKILLS)
