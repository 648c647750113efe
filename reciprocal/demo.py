"""`reciprocal demo`: a realistic cohort through a whole program on the embedded stack, on an accelerated clock.

Profiles -> proposals -> everyone accepts through the one-click links in their real emails (GET the page, POST
the form) -> schedules -> sessions happen and people check in. One pair turns one-sided and gets a role swap,
one pair fizzles (nobody checks in), one pair ends as "not a fit" and both partners are rematched. The summary
shows each pair's learning balance and the program's outcomes, read from the services over HTTP."""

import asyncio
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from reciprocal.cohort import ORG, PEOPLE, PROGRAM, PROGRAM_EVENT
from reciprocal.embedded import EmbeddedStack
from reciprocal.offline_match import match_people
from reciprocal.wire import Frontend, Tap
from services.matcher.domain import person_from_profile, program_from_event
from shared.contract import ProfileChanged, ProgramConfigured

DEMO_CLOCK_SPEED = 86_400.0
"""One virtual day per real second: the 12-week biweekly program plays out in about a minute and a half."""

DEMO_PROGRAM: dict[str, Any] = {
    **PROGRAM_EVENT,
    "matching": "cohort",  # nobody is proposed before the admin's match: the optimiser pairs the whole cohort
    "approval_required": True,  # the admin sees a preview first, and approves exactly its pairs
    "one_sided_min_sessions": 2,  # six sessions in twelve weeks: judge the balance early enough to swap roles
    "proposal_ttl_days": 30,  # a virtual week is seven real seconds here: leave time to read the email
}

TOPICS = ["profiles.changed", "profiles.rejected", "matches.proposed", "matches.accepted", "matches.withdrawn",
          "schedules.created", "schedules.updated", "schedules.unschedulable", "checkins.requested",
          "sessions.checked-in", "partnerships.flagged", "notifications.sent", "notifications.failed",
          "programs.match-previewed"]

LINK = re.compile(r"https?://[^\s\"<>]+/links/(accept|decline|check-in|end)/[A-Za-z0-9_.-]+")
PROPOSAL_SUBJECT = "New mentoring match proposed"


def run_demo(clock_speed: float = DEMO_CLOCK_SPEED, *, serve: bool = False) -> int:
    """`serve`: start the web console too, and leave everything running after the summary (until Ctrl-C)."""
    if clock_speed == 1:  # the wall clock would take the whole twelve weeks
        print(f"The demo runs its program on an accelerated clock: --clock-speed {DEMO_CLOCK_SPEED:g}", flush=True)
        clock_speed = DEMO_CLOCK_SPEED
    stack = EmbeddedStack(clock_speed=clock_speed)
    ok = False
    try:
        print("Starting the embedded stack (Tansu, SecantusDB, SMTP sink, five services)...", flush=True)
        stack.start(console=serve)
        summary = asyncio.run(drive(stack))
        print(summary)
        if serve:
            from reciprocal.serve import serve_console

            serve_console(stack, ORG, [p["person_id"] for p in PEOPLE])
        ok = True
        return 0
    finally:
        stack.stop(keep_workdir=not ok)
        print("Stack stopped." if ok else f"Stack stopped; logs kept in {stack.workdir / 'logs'}")


async def read(web: httpx.AsyncClient, stack: EmbeddedStack, service: str, path: str, *, org_id: str = ORG) -> Any:
    """Every HTTP read of the demo and of tests/e2e, as that org's admin (a bearer token from the stack's key)."""
    headers = {"Authorization": f"Bearer {stack.token(org_id, 'admin')}"}
    response = await web.get(f"{stack.service_url(service)}{path}", headers=headers)
    response.raise_for_status()
    return response.json()


def links_in(mail: EmailMessage) -> dict[str, str]:
    text = mail.get_body(("plain",)).get_content()
    return {m.group(1): m.group(0) for m in LINK.finditer(text)}


async def accept_by_links(web: httpx.AsyncClient, stack: EmbeddedStack, answered: set[str]) -> int:
    """Open each new proposal email's accept link (GET shows the page) and confirm it (POST the form)."""
    count = 0
    for mail in stack.emails():
        if not mail["Subject"].startswith(PROPOSAL_SUBJECT) or "accept" not in (links := links_in(mail)):
            continue
        if links["accept"] in answered:
            continue
        answered.add(links["accept"])
        (await web.get(links["accept"])).raise_for_status()
        (await web.post(links["accept"])).raise_for_status()
        count += 1
    return count


def waitlisted(like: dict[str, Any], suffix: str, manager_id: str | None = None) -> dict[str, Any]:
    """Someone who joins late, with the skills of `like` (so they complement `like`'s partner)."""
    pid = f"{like['person_id'].split('.')[0]}.{suffix}"
    return {**like, "person_id": pid, "display_name": f"{like['display_name'].split()[0]} {suffix.title()}",
            "email": f"{pid}@globex.example", "department": "Operations", "manager_id": manager_id}


class Plan:
    """What each pair does during the program: the check-ins the demo gives for every requested session."""

    def __init__(self, pairs: list[dict[str, Any]]) -> None:
        self.one_sided, self.fizzling, self.not_a_fit = (p["match_id"] for p in pairs[:3])
        self.flagged: set[str] = set()

    def answers(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        mid = request["match_id"]
        if mid == self.fizzling or mid == self.not_a_fit:
            return []  # the fizzling pair never checks in; the other one ends after its kickoff
        happened = "yes"
        if mid == self.one_sided and request["teacher"] == request["person_b"] and mid not in self.flagged:
            happened = "no"  # the sessions where B teaches A keep not happening, until the flag swaps roles
        base = {"org_id": request["org_id"], "match_id": mid, "session_id": request["session_id"],
                "happened": happened}
        ratings = {"learned": 4, "helped": 4} if happened == "yes" else {}
        return [{**base, "person_id": who, **ratings} for who in (request["person_a"], request["person_b"])]


async def drive(stack: EmbeddedStack) -> str:
    async with Frontend(stack.kafka_bootstrap) as frontend, Tap(stack.kafka_bootstrap, TOPICS) as tap, \
            httpx.AsyncClient(timeout=15) as web:
        await frontend.publish("programs.configured", DEMO_PROGRAM)
        await asyncio.sleep(1)
        for profile in PEOPLE:
            await frontend.publish("profiles.submitted", profile)
        print(f"Published {len(PEOPLE)} profiles; waiting for proposals...", flush=True)
        await tap.wait_for(lambda t: len(t.events("profiles.changed")) >= len(PEOPLE), what="profiles.changed")
        print(f"Registration is open: {len(tap.events('matches.proposed'))} proposals so far (cohort mode). "
              "The admin previews the whole-cohort match...", flush=True)
        preview = await admin_post(web, stack, f"/programs/{PROGRAM}/cohort-previews")
        for _ in range(60):  # the matcher may not have read every profile yet: preview again until it has
            if preview["participants"] >= len(PEOPLE):
                break
            await asyncio.sleep(0.5)
            preview = await admin_post(web, stack, f"/programs/{PROGRAM}/cohort-previews")
        print(render_preview(preview, {p["person_id"]: p["display_name"] for p in PEOPLE}), flush=True)
        await admin_post(web, stack, f"/programs/{PROGRAM}/cohort-previews/{preview['preview_id']}/approve")
        approved: set[str] = {preview["preview_id"]}
        proposals = await tap.settle("matches.proposed", quiet=3.0)
        optimum = offline_optimum(tap.events("profiles.changed"), datetime.fromisoformat(preview["created_at"]))
        share = sum(p["score"] for p in proposals) / optimum if optimum else 1.0
        print(f"Approved: {len(proposals)} proposals, total score {sum(p['score'] for p in proposals):.3f}, "
              f"{share:.2%} of the offline optimum ({optimum:.3f}, `reciprocal match` on the same profiles).",
              flush=True)
        answered: set[str] = set()
        await tap.wait_for(lambda t: _proposal_emails(stack) >= 2 * len(proposals), what="proposal emails")
        clicked = await accept_by_links(web, stack, answered)
        print(f"{len(proposals)} proposals; {clicked} accept links opened and confirmed from the emails; "
              "waiting for schedules...", flush=True)
        wanted = {p["match_id"] for p in proposals}
        await tap.wait_for(lambda t: wanted <= {e["match_id"] for e in t.events("matches.accepted")},
                           what="every proposal accepted", timeout=60)
        await tap.wait_for(
            lambda t: wanted <= {e["match_id"]
                                 for e in t.events("schedules.created") + t.events("schedules.unschedulable")},
            what="a schedule for every accepted match", timeout=90)
        scheduled = [p for p in sorted(proposals, key=lambda p: -p["score"])
                     if p["match_id"] in {e["match_id"] for e in tap.events("schedules.created")}]
        plan = Plan(scheduled)
        ending = next(p for p in scheduled if p["match_id"] == plan.not_a_fit)
        by_id = {p["person_id"]: p for p in PEOPLE}
        late_a = waitlisted(by_id[ending["person_b"]], "late")
        late_b = waitlisted(by_id[ending["person_a"]], "later", manager_id=late_a["person_id"])  # not each other
        for profile in (late_a, late_b):
            await frontend.publish("profiles.submitted", profile)
        print("Two late joiners wait for a partner; the program runs (one virtual day per real second at the "
              "default speed)...", flush=True)
        ended_at = await play(stack, web, frontend, tap, plan, ending, answered, approved)
        for _ in range(120):  # the admin approves the batches' previews until the rematch is proposed
            if len([p for p in tap.events("matches.proposed") if p["match_id"] not in wanted]) >= 2:
                break
            await approve_new_previews(web, stack, tap, approved)
            await asyncio.sleep(0.5)
        else:
            raise TimeoutError("the rematch was not proposed within 60 s")
        rematched = [p for p in tap.events("matches.proposed") if p["match_id"] not in wanted]
        balances = {p["match_id"]: await read(web, stack, "progress", f"/partnerships/{p['match_id']}/balance")
                    for p in scheduled}
        outcomes = await read(web, stack, "progress", f"/programs/{PROGRAM}/outcomes")
        names = {p["person_id"]: p["display_name"] for p in [*PEOPLE, late_a, late_b]}
        return render_summary(proposals, tap, names, stack, plan, balances, outcomes, rematched, ended_at)


async def approve_new_previews(web: httpx.AsyncClient, stack: EmbeddedStack, tap: Tap, approved: set[str]) -> int:
    """The program requires approval, so each batch after the cohort's match (late joiners, a partner
    freed) ends in a preview: the admin approves each new one that pairs anyone. One the pool has
    changed since is refused (409); the batch that changed it previews again. How many were approved."""
    count = 0
    headers = {"Authorization": f"Bearer {stack.token(ORG, 'admin')}"}
    for previewed in tap.events("programs.match-previewed"):
        if previewed["preview_id"] in approved or not previewed["pairs"]:
            continue
        approved.add(previewed["preview_id"])
        answer = await web.post(f"{stack.service_url('matcher')}/programs/{PROGRAM}/cohort-previews/"
                                f"{previewed['preview_id']}/approve", headers=headers)
        if answer.status_code != 409:
            answer.raise_for_status()
            count += 1
            print(f"The admin approves a batch's preview: {previewed['pairs']} pair(s).", flush=True)
    return count


async def admin_post(web: httpx.AsyncClient, stack: EmbeddedStack, path: str, *, org_id: str = ORG) -> Any:
    headers = {"Authorization": f"Bearer {stack.token(org_id, 'admin')}"}
    response = await web.post(f"{stack.service_url('matcher')}{path}", headers=headers)
    response.raise_for_status()
    return response.json()


def offline_optimum(changed: list[dict[str, Any]], now: datetime) -> float:
    """The total score `reciprocal match` reaches on these profiles: the reference for the live pairs."""
    program = program_from_event(ProgramConfigured.model_validate(DEMO_PROGRAM))
    people = [person_from_profile(ProfileChanged.model_validate(e), program.skill_aliases) for e in changed]
    return float(match_people(people, program, now=now)["objective"])


def render_preview(preview: dict[str, Any], names: dict[str, str]) -> str:
    lines = [f"Preview {preview['preview_id'][:8]}: objective {preview['objective']:.3f} ({preview['mode']}), "
             f"coverage {preview['coverage']:.0%} ({preview['matched']} of {preview['participants']} people), "
             f"{len(preview['pairs'])} pairs"]
    lines += [f"  {names.get(p['person_a'], p['person_a'])} <-> {names.get(p['person_b'], p['person_b'])}   "
              f"score {p['score']:.3f}" for p in preview["pairs"]]
    for who, reasons in preview["unmatched"].items():
        lines.append(f"  unmatched: {names.get(who, who)}: {'; '.join(reasons)}")
    cells = [f"{a} x {b}: {n}" for a, row in preview["department_matrix"].items() for b, n in row.items()
             if n and a <= b]
    lines.append("  pairs by department: " + (", ".join(cells) or "none"))
    return "\n".join(lines)


def _proposal_emails(stack: EmbeddedStack) -> int:
    return sum(1 for m in stack.emails() if m["Subject"].startswith(PROPOSAL_SUBJECT))


async def play(stack: EmbeddedStack, web: httpx.AsyncClient, frontend: Frontend, tap: Tap, plan: Plan,
               ending: dict[str, Any], answered: set[str], approved: set[str]) -> datetime:
    """Answer every check-in request as planned, end the not-a-fit pair after its kickoff, approve the
    batches' previews, accept new proposals by their links, and return when the virtual clock is past the
    last session of the first schedules (and its check-in request)."""
    clock = stack.clock
    done: set[tuple[str, str]] = set()
    ended_at: datetime | None = None
    last = max(datetime.fromisoformat(s["ends_at"]) for e in tap.events("schedules.created") for s in e["sessions"])
    finish = last + timedelta(hours=3)
    while clock.now() < finish or ended_at is None:
        plan.flagged |= {f["match_id"] for f in tap.events("partnerships.flagged") if f["kind"] == "one_sided"}
        for request in tap.events("checkins.requested"):
            key = (request["match_id"], request["session_id"])
            if key in done:
                continue
            done.add(key)
            for answer in plan.answers(request):
                await frontend.publish("sessions.checked-in", answer)
            if request["match_id"] == plan.not_a_fit and ended_at is None:
                await frontend.publish("partnerships.end-requested", {
                    "org_id": ending["org_id"], "match_id": ending["match_id"], "person_id": ending["person_a"],
                    "reason": "not_a_fit"})
                ended_at = clock.now()
        await approve_new_previews(web, stack, tap, approved)
        await accept_by_links(web, stack, answered)
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # the last check-ins reach the ledger
    return ended_at


def render_summary(proposals: list[dict], tap: Tap, names: dict, stack: EmbeddedStack, plan: Plan,
                   balances: dict[str, dict], outcomes: dict[str, Any], rematched: list[dict],
                   ended_at: datetime) -> str:
    lines = ["", "=" * 78, "Reciprocal demo: who teaches whom, when they meet, how the program went", "=" * 78]
    schedules = {e["match_id"]: e for e in tap.events("schedules.created")}
    updates: dict[str, list[dict]] = {}
    for e in tap.events("schedules.updated"):
        updates.setdefault(e["match_id"], []).append(e)
    flags = {(f["match_id"], f["kind"]): f for f in tap.events("partnerships.flagged")}
    roles = {plan.one_sided: "turns one-sided (B's teaching sessions never happen)",
             plan.fizzling: "fizzles (nobody checks in)", plan.not_a_fit: "ends after the kickoff: not a fit"}
    for p in sorted(proposals, key=lambda p: -p["score"]):
        mid, a, b = p["match_id"], p["person_a"], p["person_b"]
        lines.append(f"\n{names[a]} <-> {names[b]}   score {p['score']:.3f}   {roles.get(mid, 'healthy')}")
        lines.append(f"  {names[a]} teaches {names[b]}: {_teach(p['a_teaches_b'])}")
        lines.append(f"  {names[b]} teaches {names[a]}: {_teach(p['b_teaches_a'])}")
        schedule = schedules.get(mid)
        if schedule is None:
            lines.append("  no schedule could be made")
            continue
        first = schedule["sessions"][0]
        lines.append(f"  {len(schedule['sessions'])} sessions ({first['mode']}), kickoff:")
        for local in first["local_times"]:
            when = datetime.fromisoformat(local["starts_at"])
            lines.append(f"    {names[local['person_id']]:<14} {when:%a %d %b %Y %H:%M} ({local['timezone']})")
        for kind in ("one_sided", "fizzling"):
            if flag := flags.get((mid, kind)):
                lines.append(f"  flagged {kind}: {flag['reason']}")
        if mid == plan.one_sided and (swap := flags.get((mid, "one_sided"))) and swap.get("neglected"):
            lines += _swapped(swap, schedule, updates.get(mid, []), names)
        if balance := balances.get(mid):
            lines += _balance(balance, names)
    ended = [w for w in tap.events("matches.withdrawn") if w["partnership_ended"]]
    for w in ended:
        lines.append(f"\nEnded: {names[w['person_a']]} <-> {names[w['person_b']]} ({w['reason']}, "
                     f"{ended_at:%d %b %Y} virtual); both were rematched:")
        accepted = {e["match_id"] for e in tap.events("matches.accepted")}
        for r in rematched:
            state = "accepted by both" if r["match_id"] in accepted else "proposed"
            lines.append(f"  {state}: {names[r['person_a']]} <-> {names[r['person_b']]}   score {r['score']:.3f}")
    lines.append("\nProgram outcomes (progress service):")
    lines += [f"  {k}: {v}" for k, v in outcomes.items() if k not in ("thresholds", "program_id")]
    emails = stack.emails()
    lines.append(f"\nEmails delivered to the SMTP sink: {len(emails)}")
    for subject, count in sorted(_count(m["Subject"].split(":")[0] for m in emails).items()):
        lines.append(f"  {count:>4} x {subject}")
    failed = tap.events("notifications.failed")
    lines.append(f"\nNotifications failed: {len(failed)}")
    return "\n".join(lines)


def swapped_session(created: dict, updates: list[dict], teacher: str) -> dict | None:
    """The first session a `schedules.updated` gave to `teacher` that the original schedule had not."""
    before = {s["session_id"]: s["teacher"] for s in created["sessions"]}
    for update in updates:
        for s in update["sessions"]:
            if s["teacher"] == teacher and before.get(s["session_id"]) != teacher:
                return s
    return None


def _swapped(flag: dict, created: dict, updates: list[dict], names: dict) -> list[str]:
    teacher = flag["neglected"]["teacher"]
    if (s := swapped_session(created, updates, teacher)) is None:
        return ["  no role swap was published"]
    return [f"  role swap (schedules.updated): session {s['number']} on "
            f"{datetime.fromisoformat(s['starts_at']):%d %b %Y} now has {names[teacher]} teach {names[s['learner']]}"]


def _balance(balance: dict, names: dict) -> list[str]:
    lines = [f"  learning balance: {balance['sessions_held']} of {balance['sessions_due']} due sessions held "
             f"({balance['sessions_scheduled']} scheduled), status {balance['status']}, flags "
             f"{', '.join(balance['flags']) or 'none'}"]
    for d in (balance["a_teaches_b"], balance["b_teaches_a"]):
        avg = f"{d['learned_avg']:.1f}" if d.get("learned_avg") is not None else "-"
        lines.append(f"    {names.get(d['teacher'], d['teacher'])} -> {names.get(d['learner'], d['learner'])}: "
                     f"{d['held']} held, learned {avg}/5")
    return lines


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def _teach(items: list[dict[str, Any]]) -> str:
    return "; ".join(f"{t['skill']} (to {t['goal']})" for t in items) or "-"
