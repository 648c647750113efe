"""The console's pages and actions. Admin pages need the admin role; a participant reaches only their own
"my mentoring" page. Each read goes to the owning service with the signed-in person's token (so each
service enforces its own rules as well), and each action calls an owning service's API or publishes a
contract event with the person and org taken from the token, never from the form."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from services.console.adapters.publisher import Publisher
from services.console.adapters.services import ServiceRefused, Services
from services.console.domain import admin as views
from services.console.domain.mine import inbox_table, my_mentoring
from services.console.domain.tables import Table
from services.console.entrypoints.security import checked_form
from services.console.settings import ConsoleSettings
from shared.contract import EndRequested, MatchResponded, ProgramConfigured, SessionCheckedIn
from shared.contract.events import FieldError
from shared.readcache import IDS_MAX, PAGE_MAX

PROGRAM_TABS = (("overview", "Overview"), ("matrix", "Department matrix"), ("pairs", "Pairs"),
                ("health", "Health"), ("outcomes", "Outcomes"), ("preview", "Cohort preview"),
                ("configure", "Configure"))
PAGE_ROWS = 100
"""Rows of a table shown on one page (`?page=N`), read a page at a time from the owning service; its CSV
export has every row."""
PAIRED = ("accepted", "ended")
END_REASONS = (("goals_met", "Our goals are met"), ("not_a_fit", "Not a good fit"),
               ("schedule", "We cannot find the time"), ("left", "I am leaving the program"))


def forbidden(detail: str) -> HTTPException:
    return HTTPException(status_code=403, detail=detail)


def routes(settings: ConsoleSettings, services: Services, publisher: Publisher, render: Callable[..., Response],
           principal_of: Callable[[Request], tuple[Any, str]], now: Callable[[], datetime]) -> APIRouter:
    api = APIRouter()

    def admin(request: Request) -> str:
        principal, token = principal_of(request)
        if not principal.is_admin:
            raise forbidden("These pages are for program admins.")
        return token

    async def form_of(request: Request) -> dict[str, str]:
        return await checked_form(request)

    def csv(table: Table) -> Response:
        return Response(table.to_csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{table.name}.csv"'})

    # --- home and programs ------------------------------------------------------------------------

    @api.get("/")
    async def home(request: Request) -> Response:
        principal, _ = principal_of(request)
        return RedirectResponse("/programs" if principal.is_admin else "/me", status_code=303)

    async def programs_table(token: str) -> Table:
        got = await services.gather(token, profiles=("profiles", "/programs"),
                                    matcher=("matcher", "/programs/match-counts"))
        return views.programs_table(got["profiles"]["programs"], got["matcher"]["programs"])

    @api.get("/programs")
    async def programs(request: Request) -> Response:
        table = await programs_table(admin(request))
        return render(request, "programs.html", table=table, title="Programs")

    @api.get("/programs.csv")
    async def programs_csv(request: Request) -> Response:
        return csv(await programs_table(admin(request)))

    # --- one program -------------------------------------------------------------------------------

    async def program_of(token: str, program_id: str) -> dict[str, Any]:
        listed = (await services.get(token, "profiles", "/programs"))["programs"]
        found = next((p for p in listed if p["program_id"] == program_id), None)
        if found is None:
            raise HTTPException(status_code=404, detail="No such program.")
        return found

    def rows(service: str, path: str, page: int, size: int = PAGE_ROWS, **params: Any) -> tuple[Any, ...]:
        """A read of one page of a service's row list (its answer carries `total`)."""
        return (service, path, ..., {**params, "offset": (page - 1) * size, "limit": size})

    async def page_tables(token: str, program: dict[str, Any] | Awaitable[dict[str, Any]], tab: str,
                          page: int, program_id: str | None = None) -> tuple[dict[str, Any], dict[str, Table]]:
        """The view model of one program page (page `page` of its tables), and its tables by export name.
        Every read is bounded: figures the services keep per program, and one page of rows. `program`
        may be still being read (`program_id` given): the page's reads go out beside it."""
        p = program_id or program["program_id"]  # type: ignore[index]
        if tab == "overview":
            d = await services.gather(
                token, summary=("matcher", f"/programs/{p}/summary"),
                unmatched=rows("matcher", f"/programs/{p}/unmatched", page),
                declined=rows("matcher", f"/programs/{p}/matches", page, status=["declined"], brief="true"),
                pending=rows("matcher", f"/programs/{p}/matches", page, status=["proposed"], brief="true"))
            listed = program if isinstance(program, dict) else await program
            view = views.overview(listed, d["summary"], d["unmatched"], d["declined"], d["pending"], page, PAGE_ROWS)
            view["chart"] = {"labels": list(view["proposals"]), "values": list(view["proposals"].values())}
            return view, {t.name: t for t in (view["unmatched"], view["declined"], view["pending"])}
        if tab == "matrix":
            summary = await services.get(token, "matcher", f"/programs/{p}/summary")
            matrix = views.matrix_of_counts(summary.get("department_pairs", []))
            table = views.matrix_table(matrix)
            return {"matrix": matrix, "table": table}, {table.name: table}
        if tab == "pairs":
            got = await services.get(token, "matcher", f"/programs/{p}/matches", status=list(PAIRED),
                                     offset=(page - 1) * PAGE_ROWS, limit=PAGE_ROWS)
            table = await pairs_of(token, p, got["matches"])
            return {"table": table.of_page(got["total"], page, PAGE_ROWS)}, {table.name: table}
        if tab == "health":
            d = await services.gather(
                token, flagged=rows("progress", f"/programs/{p}/flagged", page),
                unschedulable=rows("scheduler", f"/programs/{p}/unschedulable", page),
                failed=("notifier", "/notifications/failed"))
            flagged, unschedulable = d["flagged"]["partnerships"], d["unschedulable"]["schedules"]
            failed = d["failed"]["failed"]
            wanted = {q for r in (*flagged, *unschedulable) for q in (r["person_a"], r["person_b"])}
            wanted |= {f["person_id"] for f in failed}
            people = await people_of(token, p, wanted)
            names = {q["person_id"]: q["display_name"] or q["person_id"] for q in people}
            tables = views.health(flagged, unschedulable, failed, names, set(names))
            tables["flagged"].of_page(d["flagged"]["total"], page, PAGE_ROWS)
            tables["unschedulable"].of_page(d["unschedulable"]["total"], page, PAGE_ROWS)
            tables["failed"].paged(page, PAGE_ROWS)
            return {"tables": tables}, {t.name: t for t in tables.values()}
        if tab == "outcomes":
            view = views.outcomes(await services.get(token, "progress", f"/programs/{p}/outcomes"))
            return view, {t.name: t for t in (view["endings"], view["balance"])}
        if tab == "preview":
            preview = await services.get(token, "matcher", f"/programs/{p}/cohort-previews/latest", missing=None)
            if not preview:
                return {"preview": None}, {}
            matrix = views.department_matrix(_preview_departments(preview))
            pairs = Table("preview-pairs", "Pairs this match would propose", [
                views.Column("person_a", "Partner A"), views.Column("person_b", "Partner B"),
                views.Column("score", "Score", True), views.Column("explanation", "Score, factor by factor")],
                [{"person_a": q["person_a"], "person_b": q["person_b"], "score": q["score"],
                  "explanation": [f"{f['factor']} = {f['value']:.2f}" for f in q.get("explanation", [])]}
                 for q in preview.get("pairs", [])], empty="This match would propose no pair.")
            unmatched = Table("preview-unmatched", "Left out, and why", [
                views.Column("person", "Person"), views.Column("reason", "Reason")],
                [{"person": pid, "reason": "; ".join(r)} for pid, r in sorted(preview.get("unmatched", {}).items())],
                empty="Everyone would be matched.")
            for table in (pairs, unmatched):
                if page:  # 0: every row (the export)
                    table.paged(page, PAGE_ROWS)
            return {"preview": preview, "matrix": matrix, "pairs": pairs,
                    "unmatched": unmatched}, {pairs.name: pairs, unmatched.name: unmatched}
        raise HTTPException(status_code=404, detail="No such page.")

    async def people_of(token: str, program_id: str, person_ids: set[str]) -> list[dict[str, Any]]:
        """Those of these people enrolled in the program, with their names (by id, IDS_MAX at a time)."""
        ids = sorted(person_ids)
        answers = await services.gather(token, **{
            f"c{i}": ("profiles", f"/programs/{program_id}/people", ..., {"person_id": ids[i:i + IDS_MAX]})
            for i in range(0, len(ids), IDS_MAX)})
        return [q for a in answers.values() for q in a["people"]]

    async def pairs_of(token: str, program_id: str, matches: list[dict[str, Any]]) -> Table:
        """The pairs table of these matches, with their schedules and balances read by match id."""
        ids = [m["match_id"] for m in matches]
        reads: dict[str, Any] = {}
        for i in range(0, len(ids), IDS_MAX):
            chunk = {"match_id": ids[i:i + IDS_MAX]}
            reads[f"s{i}"] = ("scheduler", f"/programs/{program_id}/schedules", ..., chunk)
            reads[f"p{i}"] = ("progress", f"/programs/{program_id}/partnerships", ..., chunk)
        got = await services.gather(token, **reads) if reads else {}
        schedules = [x for k, a in got.items() if k[0] == "s" for x in a["schedules"]]
        balances = [x for k, a in got.items() if k[0] == "p" for x in a["partnerships"]]
        return views.pairs_table(matches, schedules, balances)

    async def all_rows(token: str, service: str, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a service's row list, a page (PAGE_MAX) at a time (for a CSV export)."""
        found: list[dict[str, Any]] = []
        while True:
            got = await services.get(token, service, path, **params, offset=len(found), limit=PAGE_MAX)
            found.extend(got[key])
            if not got[key] or len(found) >= got["total"]:
                return found

    async def export(token: str, program: dict[str, Any], name: str) -> Response:
        """A table's CSV: every row, read from the services page by page (the pairs streamed)."""
        p = program["program_id"]
        if name == "pairs":
            return StreamingResponse(pairs_csv(token, p), media_type="text/csv; charset=utf-8",
                                     headers={"Content-Disposition": 'attachment; filename="pairs.csv"'})
        if name in ("unmatched", "declined", "proposals"):
            if name == "unmatched":
                table = Table("unmatched", "People left out, and why", [
                    views.Column("person", "Person"), views.Column("department", "Department"),
                    views.Column("reason", "Reason")],
                    views.unmatched_rows(await all_rows(token, "matcher", f"/programs/{p}/unmatched", "people")))
            else:
                status = "declined" if name == "declined" else "proposed"
                found = await all_rows(token, "matcher", f"/programs/{p}/matches", "matches", status=[status],
                                       brief="true")
                table = views.declined_of(found) if name == "declined" else views.pending_table(found)
            return csv(table)
        if name in ("flagged", "unschedulable", "failed"):
            flagged = await all_rows(token, "progress", f"/programs/{p}/flagged", "partnerships")
            unschedulable = await all_rows(token, "scheduler", f"/programs/{p}/unschedulable", "schedules")
            failed = (await services.get(token, "notifier", "/notifications/failed"))["failed"]
            wanted = {q for r in (*flagged, *unschedulable) for q in (r["person_a"], r["person_b"])}
            people = await people_of(token, p, wanted | {f["person_id"] for f in failed})
            names = {q["person_id"]: q["display_name"] or q["person_id"] for q in people}
            return csv(views.health(flagged, unschedulable, failed, names, set(names))[name])
        tab = _tab_of_table(name)
        if not tab:
            raise HTTPException(status_code=404, detail="No such table.")
        _, tables = await page_tables(token, program, tab, 0)
        table = tables.get(name)
        if table is None:
            raise HTTPException(status_code=404, detail="No such table.")
        return csv(table)

    async def pairs_csv(token: str, program_id: str) -> AsyncIterator[str]:
        """The pairs table as CSV, IDS_MAX pairs at a time: the next page is read while one is written."""
        def page_at(offset: int) -> Awaitable[Any]:
            return services.get(token, "matcher", f"/programs/{program_id}/matches", status=list(PAIRED),
                                offset=offset, limit=IDS_MAX)

        got = await page_at(0)
        header = True
        offset = 0
        while True:
            offset += len(got["matches"])
            more = asyncio.ensure_future(page_at(offset)) if got["matches"] and offset < got["total"] else None
            table = await pairs_of(token, program_id, got["matches"])
            yield table.to_csv(header=header)
            header = False
            if more is None:
                return
            got = await more

    @api.get("/programs/{program_id}")
    async def overview(request: Request, program_id: str) -> Response:
        return await program_page(request, program_id, "overview")

    @api.get("/programs/{program_id}/{tab}")
    async def program_page(request: Request, program_id: str, tab: str) -> Response:
        token = admin(request)
        if tab.endswith(".csv") or tab == "configure":
            program = await program_of(token, program_id)
            if tab == "configure":
                return render(request, "configure.html", program=program, tabs=PROGRAM_TABS, tab=tab,
                              title=f"Configure {program.get('name') or program_id}")
            return await export(token, program, tab.removesuffix(".csv"))
        page = request.query_params.get("page", "1")
        listed = asyncio.ensure_future(program_of(token, program_id))  # beside the page's reads, not before them
        try:
            view, _ = await page_tables(token, listed, tab, max(int(page), 1) if page.isdigit() else 1, program_id)
        except Exception:
            await listed  # no such program: 404, rather than what a service answered for it
            raise
        program = await listed
        return render(request, f"program_{tab}.html", program=program, view=view, tabs=PROGRAM_TABS, tab=tab,
                      notice=request.query_params.get("notice"),
                      title=f"{dict(PROGRAM_TABS)[tab]}: {program.get('name') or program_id}")

    # --- admin actions -------------------------------------------------------------------------------

    @api.get("/new-program")
    async def new_program(request: Request) -> Response:
        admin(request)
        return render(request, "configure.html", program=None, tabs=(), tab="configure", title="New program")

    @api.post("/programs/{program_id}/configure")
    async def configure(request: Request, program_id: str) -> Response:
        return await save_program(request, program_id)

    @api.post("/new-program")
    async def create_program(request: Request) -> Response:
        return await save_program(request, None)

    async def save_program(request: Request, program_id: str | None) -> Response:
        token = admin(request)
        principal, _ = principal_of(request)
        form = await form_of(request)
        fields = {k: str(v).strip() for k, v in form.items() if k != "csrf_token" and str(v).strip()}
        fields["approval_required"] = "approval_required" in form  # type: ignore[assignment]
        if program_id is not None:
            fields["program_id"] = program_id
        try:
            event = ProgramConfigured(org_id=principal.org, **fields)
        except ValidationError as exc:
            problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            program = await program_of(token, program_id) if program_id else None
            return render(request, "configure.html", program=program or fields, tabs=PROGRAM_TABS if program_id else (),
                          tab="configure", problems=problems, title="Configure a program", status_code=400)
        await publisher.publish(event)
        return RedirectResponse(f"/programs/{event.program_id}?notice=configured", status_code=303)

    @api.post("/programs/{program_id}/preview")
    async def run_preview(request: Request, program_id: str) -> Response:
        token = admin(request)
        await form_of(request)
        await services.post(token, "matcher", f"/programs/{program_id}/cohort-previews")
        return RedirectResponse(f"/programs/{program_id}/preview?notice=previewed", status_code=303)

    @api.post("/programs/{program_id}/previews/{preview_id}/approve")
    async def approve(request: Request, program_id: str, preview_id: str) -> Response:
        token = admin(request)
        await form_of(request)
        await services.post(token, "matcher", f"/programs/{program_id}/cohort-previews/{preview_id}/approve")
        return RedirectResponse(f"/programs/{program_id}?notice=approved", status_code=303)

    @api.post("/programs/{program_id}/matches/{match_id}/{action}")
    async def close_match(request: Request, program_id: str, match_id: str, action: str) -> Response:
        token = admin(request)
        await form_of(request)
        if action not in ("withdraw", "end"):
            raise HTTPException(status_code=404, detail="No such action.")
        await services.post(token, "matcher", f"/matches/{match_id}/{action}")
        back = "overview" if action == "withdraw" else "pairs"
        return RedirectResponse(f"/programs/{program_id}/{back}?notice={action}n", status_code=303)

    # --- my mentoring ----------------------------------------------------------------------------------

    def myself(request: Request, person_id: str | None) -> tuple[Any, str, str]:
        principal, token = principal_of(request)
        person = person_id or principal.person
        if person != principal.person and not principal.is_admin:
            raise forbidden("This is another participant's page.")
        return principal, token, person

    @api.get("/me")
    async def me(request: Request) -> Response:
        return await mentoring(request, None)

    @api.get("/people/{person_id}")
    async def person_page(request: Request, person_id: str) -> Response:
        return await mentoring(request, person_id)

    async def mentoring_view(token: str, person: str) -> dict[str, Any]:
        got = await services.gather(
            token, profile=("profiles", f"/profiles/{person}", None),
            partners=("matcher", f"/people/{person}/partners"),
            partnerships=("progress", f"/people/{person}/partnerships"),
            feed=("scheduler", f"/people/{person}/calendar-feed"), inbox=("notifier", f"/people/{person}/inbox"))
        if got["profile"] is None:
            raise HTTPException(status_code=404, detail="No such person in your organisation.")
        accepted = [m["match_id"] for m in got["partners"]["matches"] if m["status"] == "accepted"]
        found = await services.gather(token, **{f"s{i}": ("scheduler", f"/matches/{mid}/schedule", None)
                                                for i, mid in enumerate(accepted)})
        schedules = {mid: found[f"s{i}"] for i, mid in enumerate(accepted)}
        view = my_mentoring(person, got["profile"], got["partners"]["matches"], schedules,
                            got["partnerships"]["partnerships"], now())
        view.update(feed=got["feed"]["url"], inbox=inbox_table(got["inbox"]["entries"]),
                    inbox_entries=got["inbox"]["entries"])
        return view

    async def mentoring(request: Request, person_id: str | None) -> Response:
        _, token, person = myself(request, person_id)
        view = await mentoring_view(token, person)
        return render(request, "mine.html", view=view, person=person, end_reasons=END_REASONS,
                      notice=request.query_params.get("notice"), title="My mentoring")

    @api.get("/people/{person_id}/{table}.csv")
    async def mentoring_csv(request: Request, person_id: str, table: str) -> Response:
        _, token, person = myself(request, person_id)
        view = await mentoring_view(token, person)
        tables = {t.name: t for t in (view["checkins"], view["inbox"])}
        if table not in tables:
            raise HTTPException(status_code=404, detail="No such table.")
        return csv(tables[table])

    async def my_match(request: Request, person_id: str, match_id: str) -> tuple[Any, dict[str, Any], Any]:
        """The signed-in participant acting on one of their own matches (the matcher says whether it is)."""
        principal, token = principal_of(request)
        if person_id != principal.person:
            raise forbidden("You can act only for yourself.")
        form = await form_of(request)
        match = await services.get(token, "matcher", f"/matches/{match_id}")
        if principal.person not in (match["person_a"], match["person_b"]):
            raise forbidden("This is another pair's partnership.")
        return principal, match, form

    @api.post("/people/{person_id}/matches/{match_id}/respond")
    async def respond(request: Request, person_id: str, match_id: str) -> Response:
        principal, _, form = await my_match(request, person_id, match_id)
        decision = str(form.get("decision") or "")
        if decision not in ("accept", "decline"):
            raise HTTPException(status_code=400, detail="Choose accept or decline.")
        await publisher.publish(MatchResponded(org_id=principal.org, match_id=match_id, person_id=principal.person,
                                               decision=decision, reason=str(form.get("reason") or "") or None))
        return RedirectResponse(f"/me?notice={decision}ed", status_code=303)

    @api.post("/people/{person_id}/matches/{match_id}/checkin")
    async def check_in(request: Request, person_id: str, match_id: str) -> Response:
        principal, _, form = await my_match(request, person_id, match_id)
        happened = str(form.get("happened") or "")
        ratings = {k: int(str(form[k])) for k in ("learned", "helped") if str(form.get(k) or "").isdigit()}
        try:
            event = SessionCheckedIn(org_id=principal.org, match_id=match_id, person_id=principal.person,
                                     session_id=str(form.get("session_id") or ""), happened=happened,
                                     note=str(form.get("note") or "") or None,
                                     **(ratings if happened == "yes" else {}))
        except ValidationError as exc:
            raise HTTPException(status_code=400, detail="; ".join(
                f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())) from None
        await publisher.publish(event)
        return RedirectResponse("/me?notice=checkedin", status_code=303)

    @api.post("/people/{person_id}/matches/{match_id}/end")
    async def end(request: Request, person_id: str, match_id: str) -> Response:
        principal, _, form = await my_match(request, person_id, match_id)
        try:
            event = EndRequested(org_id=principal.org, match_id=match_id, person_id=principal.person,
                                 reason=str(form.get("reason") or ""), note=str(form.get("note") or "") or None)
        except ValidationError:
            raise HTTPException(status_code=400, detail="Choose why the partnership ends.") from None
        await publisher.publish(event)
        return RedirectResponse("/me?notice=ended", status_code=303)

    return api


def _tab_of_table(name: str) -> str:
    return {"unmatched": "overview", "declined": "overview", "proposals": "overview", "matrix": "matrix",
            "pairs": "pairs", "flagged": "health", "unschedulable": "health", "failed": "health",
            "endings": "outcomes", "balance": "outcomes", "preview-pairs": "preview",
            "preview-unmatched": "preview"}.get(name, "")


def _preview_departments(preview: dict[str, Any]) -> list[tuple[str, str]]:
    """The preview's pairs as department pairs, from its own department matrix."""
    pairs: list[tuple[str, str]] = []
    matrix = preview.get("department_matrix") or {}
    for a, row in matrix.items():
        for b, n in row.items():
            if a <= b:
                pairs.extend([(a, b)] * int(n))
    return pairs


__all__ = ["FieldError", "ServiceRefused", "routes"]
