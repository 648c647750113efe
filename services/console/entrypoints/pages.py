"""The console's pages and actions. Admin pages need the admin role; a participant reaches only their own
"my mentoring" page. Each read goes to the owning service with the signed-in person's token (so each
service enforces its own rules as well), and each action calls an owning service's API or publishes a
contract event with the person and org taken from the token, never from the form."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
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

PROGRAM_TABS = (("overview", "Overview"), ("matrix", "Department matrix"), ("pairs", "Pairs"),
                ("health", "Health"), ("outcomes", "Outcomes"), ("preview", "Cohort preview"),
                ("configure", "Configure"))
PAGE_ROWS = 100
"""Rows of a table shown on one page (`?page=N`); its CSV export has every row."""
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

    async def program_data(token: str, program_id: str, *reads: str) -> dict[str, Any]:
        wanted = {
            "people": ("profiles", f"/programs/{program_id}/people"),
            "programs": ("profiles", "/programs"),
            "matches": ("matcher", f"/programs/{program_id}/matches"),
            "report": ("matcher", f"/programs/{program_id}/cohort-report", None),
            "preview": ("matcher", f"/programs/{program_id}/cohort-previews/latest", None),
            "schedules": ("scheduler", f"/programs/{program_id}/schedules"),
            "partnerships": ("progress", f"/programs/{program_id}/partnerships"),
            "outcomes": ("progress", f"/programs/{program_id}/outcomes"),
            "failed": ("notifier", "/notifications/failed"),
        }
        return await services.gather(token, **{name: wanted[name] for name in reads})

    async def program_of(token: str, program_id: str) -> dict[str, Any]:
        listed = (await services.get(token, "profiles", "/programs"))["programs"]
        found = next((p for p in listed if p["program_id"] == program_id), None)
        if found is None:
            raise HTTPException(status_code=404, detail="No such program.")
        return found

    async def page_tables(token: str, program_id: str, tab: str) -> tuple[dict[str, Any], dict[str, Table]]:
        """The view model of one program page, and its tables by export name."""
        if tab == "overview":
            d = await program_data(token, program_id, "people", "matches", "report")
            view = views.overview(d["people"]["people"], d["matches"]["matches"], d["report"])
            view["chart"] = {"labels": list(view["proposals"]), "values": list(view["proposals"].values())}
            return view, {t.name: t for t in (view["unmatched"], view["declined"], view["pending"])}
        if tab == "matrix":
            d = await program_data(token, program_id, "matches")
            matrix = views.matrix_of_matches(d["matches"]["matches"])
            table = views.matrix_table(matrix)
            return {"matrix": matrix, "table": table}, {table.name: table}
        if tab == "pairs":
            d = await program_data(token, program_id, "matches", "schedules", "partnerships")
            table = views.pairs_table(d["matches"]["matches"], d["schedules"]["schedules"],
                                      d["partnerships"]["partnerships"])
            return {"table": table}, {table.name: table}
        if tab == "health":
            d = await program_data(token, program_id, "people", "schedules", "partnerships", "failed")
            people = d["people"]["people"]
            names = {p["person_id"]: p["display_name"] or p["person_id"] for p in people}
            tables = views.health(d["partnerships"]["partnerships"], d["schedules"]["schedules"],
                                  d["failed"]["failed"], names, set(names))
            return {"tables": tables}, {t.name: t for t in tables.values()}
        if tab == "outcomes":
            d = await program_data(token, program_id, "outcomes")
            view = views.outcomes(d["outcomes"])
            return view, {t.name: t for t in (view["endings"], view["balance"])}
        if tab == "preview":
            d = await program_data(token, program_id, "preview")
            preview = d["preview"]
            if not preview:
                return {"preview": None}, {}
            matrix = views.department_matrix(_preview_departments(preview))
            pairs = Table("preview-pairs", "Pairs this match would propose", [
                views.Column("person_a", "Partner A"), views.Column("person_b", "Partner B"),
                views.Column("score", "Score", True), views.Column("explanation", "Score, factor by factor")],
                [{"person_a": p["person_a"], "person_b": p["person_b"], "score": p["score"],
                  "explanation": [f"{f['factor']} = {f['value']:.2f}" for f in p.get("explanation", [])]}
                 for p in preview.get("pairs", [])], empty="This match would propose no pair.")
            unmatched = Table("preview-unmatched", "Left out, and why", [
                views.Column("person", "Person"), views.Column("reason", "Reason")],
                [{"person": pid, "reason": "; ".join(r)} for pid, r in sorted(preview.get("unmatched", {}).items())],
                empty="Everyone would be matched.")
            return {"preview": preview, "matrix": matrix, "pairs": pairs,
                    "unmatched": unmatched}, {pairs.name: pairs, unmatched.name: unmatched}
        raise HTTPException(status_code=404, detail="No such page.")

    @api.get("/programs/{program_id}")
    async def overview(request: Request, program_id: str) -> Response:
        return await program_page(request, program_id, "overview")

    @api.get("/programs/{program_id}/{tab}")
    async def program_page(request: Request, program_id: str, tab: str) -> Response:
        token = admin(request)
        if tab.endswith(".csv"):
            _, tables = await page_tables(token, program_id, _tab_of_table(tab.removesuffix(".csv")))
            table = tables.get(tab.removesuffix(".csv"))
            if table is None:
                raise HTTPException(status_code=404, detail="No such table.")
            return csv(table)
        if tab == "configure":
            program = await program_of(token, program_id)
            return render(request, "configure.html", program=program, tabs=PROGRAM_TABS, tab=tab,
                          title=f"Configure {program.get('name') or program_id}")
        program = await program_of(token, program_id)
        view, tables = await page_tables(token, program_id, tab)
        page = request.query_params.get("page", "1")
        for table in tables.values():
            table.paged(int(page) if page.isdigit() else 1, PAGE_ROWS)
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
