import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from services.scheduler.adapters.repository import SchedulerRepository, sessions_of
from services.scheduler.adapters.views import program_schedules, schedules_by_match, unschedulable_of
from services.scheduler.domain import FeedSeries, ScheduleStatus, sessions_calendar
from services.scheduler.settings import SchedulerSettings
from shared.auth import SECRET_FEED_PREFIX, Authenticated, require_admin, require_member, require_person
from shared.clock import Now
from shared.contract import Session
from shared.http import not_found
from shared.readcache import IDS_MAX, PAGE_DEFAULT, PAGE_MAX

FEED_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


def routes(repo: SchedulerRepository, settings: SchedulerSettings, now: Now) -> APIRouter:
    api = APIRouter(tags=["schedules"])

    @api.get("/matches/{match_id}/schedule")
    async def schedule(match_id: str, principal: Authenticated) -> dict[str, Any]:
        doc = await repo.schedule(principal.org, match_id)
        if doc is None:
            raise not_found("schedule")
        require_member(principal, doc["person_a"], doc["person_b"])
        fields = ("schedule_id", "match_id", "program_id", "person_a", "person_b", "status", "version", "sessions")
        return {k: doc.get(k) for k in fields}

    @api.get("/programs/{program_id}/schedules")
    async def schedules_of_program(program_id: str, principal: Authenticated,
                                   match_id: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        """Every schedule of the program: status, next session, and an unschedulable pair's reason and
        suggestion; with `match_id` repeated (at most 200), only those matches' schedules. Admins only."""
        require_admin(principal)
        if match_id and len(match_id) > IDS_MAX:
            raise HTTPException(status_code=422, detail=f"at most {IDS_MAX} match_id values")
        if match_id:
            return {"program_id": program_id,
                    "schedules": await schedules_by_match(repo, principal.org, program_id, match_id, now())}
        return {"program_id": program_id, "schedules": await program_schedules(repo, principal.org, program_id, now())}

    @api.get("/programs/{program_id}/unschedulable")
    async def unschedulable(program_id: str, principal: Authenticated, offset: int = Query(0, ge=0),
                            limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX)) -> dict[str, Any]:
        """A page of the program's unschedulable pairs, with reason and suggestion, and `total`. Admins only."""
        require_admin(principal)
        rows = await unschedulable_of(repo, principal.org, program_id)
        return {"program_id": program_id, "total": len(rows), "offset": offset, "limit": limit,
                "schedules": rows[offset:offset + limit]}

    def feed_address(token: str) -> dict[str, str]:
        path = f"{SECRET_FEED_PREFIX}{token}.ics"
        return {"url": f"{settings.feed_url.rstrip('/')}{path}" if settings.feed_url else path}

    @api.get("/people/{person_id}/calendar-feed")
    async def calendar_feed(person_id: str, principal: Authenticated) -> dict[str, str]:
        """The person's secret feed address, for a calendar app to subscribe to (made on first ask)."""
        require_person(principal, person_id)
        return feed_address(await repo.feed_token(principal.org, person_id, new_feed_token(), now()))

    @api.post("/people/{person_id}/calendar-feed/rotate")
    async def rotate_calendar_feed(person_id: str, principal: Authenticated) -> dict[str, str]:
        """A new secret address; the old one stops working at once."""
        require_person(principal, person_id)
        token = new_feed_token()
        await repo.rotate_feed_token(principal.org, person_id, token, now())
        return feed_address(token)

    @api.get("/people/{person_id}/export")
    async def export(person_id: str, principal: Authenticated) -> dict[str, Any]:
        """Right of access, this service's part: zone and availability, and every schedule (the secret
        calendar address is not repeated here)."""
        require_person(principal, person_id)
        me = await repo.person(principal.org, person_id)
        schedules = await repo.schedules_of(principal.org, person_id, tuple(ScheduleStatus))
        return {"person": me.to_doc() if me else None,
                "schedules": [{k: v for k, v in doc.items() if k != "_id"} for doc in schedules]}

    @api.get(SECRET_FEED_PREFIX + "{token}.ics", include_in_schema=False)
    async def secret_calendar(token: str) -> Response:
        """The feed at its secret address: the token is the only credential, and it is never logged."""
        owner = await repo.feed_owner(token) if FEED_TOKEN.fullmatch(token) else None
        if owner is None:
            raise not_found("calendar feed")
        return await calendar_of(*owner)

    @api.get("/people/{person_id}/sessions.ics")
    async def calendar(person_id: str, principal: Authenticated) -> Response:
        require_person(principal, person_id)
        return await calendar_of(principal.org, person_id)

    async def calendar_of(org_id: str, person_id: str) -> Response:
        me = await repo.person(org_id, person_id)
        if me is None:
            raise not_found("person")
        series: list[FeedSeries] = []
        partner_of: dict[str, str] = {}
        for doc in await repo.schedules_of(org_id, person_id, (ScheduleStatus.ACTIVE,)):
            partner_id = doc["person_b"] if doc["person_a"] == person_id else doc["person_a"]
            partner = await repo.person(org_id, partner_id)
            sessions = sessions_of(doc)
            series.append(FeedSeries(org_id, doc["schedule_id"], doc["version"], sessions))
            for session in sessions:
                partner_of[session.session_id] = (partner.display_name if partner else "") or partner_id

        def summary(session: Session) -> str:
            title = "Kickoff" if session.kind == "kickoff" else f"Session {session.number}"
            return f"{title} with {partner_of[session.session_id]} (Reciprocal)"

        body = sessions_calendar(person_id, me.display_name, series, summary_for=summary, stamp=now())
        return Response(body, media_type="text/calendar; charset=utf-8")

    return api
