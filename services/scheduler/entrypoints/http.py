from typing import Any

from fastapi import APIRouter, Response

from services.scheduler.adapters.repository import SchedulerRepository, sessions_of
from services.scheduler.domain import FeedSeries, sessions_calendar
from shared.auth import Authenticated, require_member, require_person
from shared.contract import Session
from shared.http import not_found
from shared.runtime import Context


def routes(ctx: Context) -> APIRouter:
    api = APIRouter(tags=["schedules"])
    repo = SchedulerRepository(ctx.store.db)

    @api.get("/matches/{match_id}/schedule")
    async def schedule(match_id: str, principal: Authenticated) -> dict[str, Any]:
        doc = await repo.schedule(principal.org, match_id)
        if doc is None:
            raise not_found("schedule")
        require_member(principal, doc["person_a"], doc["person_b"])
        fields = ("schedule_id", "match_id", "program_id", "person_a", "person_b", "status", "version", "sessions")
        return {k: doc.get(k) for k in fields}

    @api.get("/people/{person_id}/sessions.ics")
    async def calendar(person_id: str, principal: Authenticated) -> Response:
        require_person(principal, person_id)
        org_id = principal.org
        me = await repo.person(org_id, person_id)
        if me is None:
            raise not_found("person")
        series: list[FeedSeries] = []
        partner_of: dict[str, str] = {}
        for doc in await repo.schedules_of(org_id, person_id, ("active",)):
            partner_id = doc["person_b"] if doc["person_a"] == person_id else doc["person_a"]
            partner = await repo.person(org_id, partner_id)
            sessions = sessions_of(doc)
            series.append(FeedSeries(org_id, doc["schedule_id"], doc["version"], sessions))
            for session in sessions:
                partner_of[session.session_id] = (partner.display_name if partner else "") or partner_id

        def summary(session: Session) -> str:
            title = "Kickoff" if session.kind == "kickoff" else f"Session {session.number}"
            return f"{title} with {partner_of[session.session_id]} (Reciprocal)"

        body = sessions_calendar(person_id, me.display_name, series, summary_for=summary, stamp=ctx.clock.now())
        return Response(body, media_type="text/calendar; charset=utf-8")

    return api
