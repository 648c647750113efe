"""Profiles service layer: check submitted profiles, keep the versioned snapshot, announce changes. The
repository counts each write's change to the enrolment per program in the same transaction, from the record
as read before it (`before`)."""

from datetime import datetime

from services.profiles.adapters.repository import ProfileRepository
from services.profiles.domain import changed_fields, check_profile, snapshot
from shared.clock import Clock
from shared.contract import (
    ErasureConfirmed,
    ErasureRequested,
    ProfileChanged,
    ProfileErased,
    ProfileRejected,
    ProfileSubmitted,
    ProfileWithdrawn,
    ProgramConfigured,
)
from shared.contract import limits as L
from shared.egress import EgressPolicy
from shared.store import Tx, UnitOfWork, forget_person


async def program_configured(event: ProgramConfigured, uow: UnitOfWork, repo: ProfileRepository) -> None:
    async def work(tx: Tx) -> None:
        await repo.save_program(tx, event.model_dump(mode="json", exclude={"event_id", "event_type"}))

    await uow.run(event, work)


async def profiles_submitted(
    events: list[ProfileSubmitted], uow: UnitOfWork, repo: ProfileRepository, clock: Clock,
    egress: EgressPolicy | None = None,
) -> None:
    """A batch of submissions in order: one read of the people it names (per tenant) and one bulk write."""

    async def work(tx: Tx, fresh: list[ProfileSubmitted]) -> None:
        read = await repo.get_many(tx, [(e.org_id, e.person_id) for e in fresh])
        current = dict(read)
        changed: dict[tuple[str, str], dict] = {}
        for event in tx.each(fresh):
            key = (event.org_id, event.person_id)
            record = submission(tx, event, current.get(key), clock.now(), egress)
            if record is not None:
                current[key] = changed[key] = record
        await repo.save_many(tx, list(changed.values()), before=read)

    await uow.run_batch(events, work)


def submission(
    tx: Tx, event: ProfileSubmitted, before: dict | None, now: datetime, egress: EgressPolicy | None = None
) -> dict | None:
    """Emit what one submission causes, given the person's current record; the new record, if any."""
    errors = check_profile(event, egress)
    if errors:
        tx.emit(
            event.caused(
                ProfileRejected,
                person_id=event.person_id,
                rejected_event_id=str(event.event_id),
                errors=errors,
                display_name=within(event.display_name, L.NAME_MAX),
                email=within(event.email, L.EMAIL_MAX),
            )
        )
        return None
    after = snapshot(event)
    changed = changed_fields(before["profile"] if before else None, after)
    if before and before["active"] and not changed:
        return None
    version = (before["version"] if before else 0) + 1
    tx.emit(event.caused(ProfileChanged, **after, version=version, changed_fields=changed, active=True))
    return _record(event.org_id, after, version, active=True, now=now)


async def profile_withdrawn(event: ProfileWithdrawn, uow: UnitOfWork, repo: ProfileRepository, clock: Clock) -> None:
    async def work(tx: Tx) -> None:
        before = await repo.get(event.org_id, event.person_id, tx)
        if not before or not before["active"]:
            return
        version = before["version"] + 1
        await repo.save(tx, _record(event.org_id, before["profile"], version, active=False, now=clock.now()),
                        before=before)
        tx.emit(
            event.caused(ProfileChanged, **before["profile"], version=version, changed_fields=["active"], active=False)
        )

    await uow.run(event, work)


async def erasure_requested(event: ErasureRequested, uow: UnitOfWork, repo: ProfileRepository) -> None:
    """Erase the profile and the sent copies of the events about the person; tell every other service
    (`profiles.erased`) and confirm this service's part. An unknown person is confirmed too: there was
    nothing to erase here, and the other services may still hold something."""

    async def work(tx: Tx) -> None:
        erased = await repo.erase(tx, event.org_id, event.person_id)
        erased += await forget_person(tx, event.org_id, event.person_id)
        tx.emit(event.caused(ProfileErased, person_id=event.person_id))
        tx.emit(event.caused(ErasureConfirmed, person_id=event.person_id, service="profiles", erased=erased,
                             anonymised=0))

    await uow.run(event, work)


def within(text: str, limit: int) -> str:
    """The text, or nothing when it is over its limit: a rejection never echoes oversized input."""
    return text if len(text) <= limit else ""


def _record(org_id: str, profile: dict, version: int, *, active: bool, now: datetime) -> dict:
    return {
        "org_id": org_id,
        "person_id": profile["person_id"],
        "profile": profile,
        "version": version,
        "active": active,
        "updated_at": now,
    }
