"""Previews of a whole-cohort match: what the optimiser would propose, kept for an admin to approve.

An approval proposes exactly the preview's pairs, so it is refused once the pool has changed: the
fingerprint covers every person's revision in the program and the program's pair history (open
load and every pair with a match)."""

import hashlib
import json
from collections.abc import Mapping, Set
from datetime import datetime
from enum import StrEnum
from typing import Any


class PreviewStatus(StrEnum):
    PENDING = "pending"  # shown to the admin, nothing proposed
    APPROVED = "approved"  # its pairs were proposed, once


class PreviewAlreadyApproved(Exception):
    """Only a pending preview can be approved; an approved one already proposed its pairs."""


def approved(preview: Mapping[str, Any], at: datetime, match_ids: list[str]) -> dict[str, Any]:
    """pending -> approved: the preview as it is once its pairs were proposed as `match_ids`."""
    if preview["status"] != PreviewStatus.PENDING:
        raise PreviewAlreadyApproved(f"preview {preview['preview_id']} is {preview['status']}")
    return {**preview, "status": PreviewStatus.APPROVED.value, "approved_at": at, "match_ids": list(match_ids)}


def fingerprint(revisions: Mapping[str, str], taken: Set[frozenset[str]], load: Mapping[str, int]) -> str:
    """One digest of the pool (person id -> revision) and the pair history."""
    doc = [sorted(revisions.items()), sorted(sorted(pair) for pair in taken), sorted(load.items())]
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


def staleness(before: Set[str], now: Set[str], same_fingerprint: bool) -> str | None:
    """Why a preview of the people `before` can no longer be approved; None while it still can."""
    if same_fingerprint:
        return None
    joined, left = len(now - before), len(before - now)
    parts = [f"{joined} joined" if joined else "", f"{left} left" if left else ""]
    what = " and ".join(p for p in parts if p) or "profiles or pairs changed"
    return f"the pool changed since this preview ({what}): preview again and approve the new one"
