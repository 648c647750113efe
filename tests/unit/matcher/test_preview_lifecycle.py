"""A cohort preview's lifecycle: pending, then approved once with the proposals it made."""

from datetime import UTC, datetime

import pytest

from services.matcher.domain.preview import PreviewAlreadyApproved, PreviewStatus, approved

AT = datetime(2027, 1, 11, 9, tzinfo=UTC)
PENDING = {"preview_id": "pv1", "status": PreviewStatus.PENDING.value, "pairs": [], "match_ids": []}


def test_a_pending_preview_is_approved_with_its_proposals():
    done = approved(PENDING, AT, ["m-1", "m-2"])
    assert (done["status"], done["approved_at"], done["match_ids"]) == ("approved", AT, ["m-1", "m-2"])
    assert PENDING["status"] == "pending"  # the stored form is replaced, not changed in place


def test_an_approved_preview_cannot_be_approved_again():
    with pytest.raises(PreviewAlreadyApproved, match="pv1 is approved"):
        approved(approved(PENDING, AT, ["m-1"]), AT, ["m-2"])
