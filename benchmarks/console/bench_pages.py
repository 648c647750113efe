"""The console's program pages for a 10,000-person program: server time per page (target < 500 ms).

The console runs in process; the five owning services are replaced by an httpx mock transport that
answers, from memory, exactly what they answer over HTTP for such a program (10,000 people in 12
departments, 5,000 matches of which 4,000 running partnerships with schedules and learning balances,
flags, failed notifications). So the time measured is the console's own: the HTTP calls through
httpx, decoding the answers, the view models, the templates and the response, not the services'
database reads (`bench_pages_live` covers those). The pages read what the services answer now: the
matcher's program figures, one page of rows (`limit`/`offset`), schedules and balances by match id,
names by person id; the mock cuts those from the whole program as the services do.

Baseline, beside it: the whole-program answers the pages read before the paged reads (people, every
match, every schedule and balance), only fetched and decoded: the floor a page built from them paid.

    python -m benchmarks.console.bench_pages [--people 10000] [--runs 5]
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx

TARGET_MS = 500.0
DEPARTMENTS = ["Finance", "Marketing", "Engineering", "Sales", "People", "Legal", "Operations", "Research",
               "Design", "Support", "Product", "Data"]
PAGES = ["", "/matrix", "/pairs", "/health", "/outcomes", "/pairs.csv"]


def population(n: int, seed: int = 7) -> dict[str, Any]:
    rnd = random.Random(seed)
    now = datetime(2027, 3, 1, tzinfo=UTC)
    people = [{"person_id": f"p{i:05d}", "display_name": f"Person {i}", "department": rnd.choice(DEPARTMENTS),
               "active": i % 50 != 0, "timezone": "Europe/London"} for i in range(n)]
    matches, schedules, partnerships = [], [], []
    for k in range(n // 2):
        a, b = people[2 * k], people[2 * k + 1]
        status = "accepted" if k % 5 else rnd.choice(["proposed", "declined", "expired", "ended"])
        mid = f"m-{k:06d}"
        created = now - timedelta(days=rnd.randint(1, 60))
        matches.append({
            "match_id": mid, "program_id": "big", "person_a": a["person_id"], "person_b": b["person_id"],
            "name_a": a["display_name"], "name_b": b["display_name"], "department_a": a["department"],
            "department_b": b["department"], "status": status, "score": round(rnd.random(), 4),
            "a_teaches_b": [{"skill": "leadership", "goal": "lead a team of five"}],
            "b_teaches_a": [{"skill": "social media", "goal": "run the team's channel"}],
            "explanation": [{"factor": f, "value": round(rnd.random(), 3)} for f in (
                "value_a_to_b", "value_b_to_a", "harmonic_mean", "cross_department", "career_stage",
                "shared_interests", "overlap")],
            "expires_at": (created + timedelta(days=7)).isoformat(),
            "reason": "too busy" if status == "declined" else "",
            "accepted_by": [], "created_at": created.isoformat(),
            "updated_at": (created + timedelta(hours=rnd.randint(1, 96))).isoformat()})
        if status in ("accepted", "ended"):
            schedules.append({"match_id": mid, "person_a": a["person_id"], "person_b": b["person_id"],
                              "status": "unschedulable" if k % 97 == 0 else "active", "version": 1,
                              "reason": "no shared time", "suggestion": "add a morning window", "sessions": 12,
                              "next_session": {"session_id": f"{mid}-s03", "number": 3, "kind": "teaching",
                                               "starts_at": (now + timedelta(days=3)).isoformat(),
                                               "ends_at": (now + timedelta(days=3, hours=1)).isoformat(),
                                               "mode": "video", "teacher": a["person_id"],
                                               "learner": b["person_id"]}})
            held_ab, held_ba = rnd.randint(0, 5), rnd.randint(0, 5)
            partnerships.append({
                "match_id": mid, "program_id": "big", "person_a": a["person_id"], "person_b": b["person_id"],
                "status": "active" if status == "accepted" else "ended", "sessions_scheduled": 12,
                "sessions_due": 6, "sessions_held": held_ab + held_ba + 1,
                "a_teaches_b": {"teacher": a["person_id"], "learner": b["person_id"], "held": held_ab,
                                "learned_avg": 4.0, "learned_ratings": held_ab, "helped_avg": 4.0,
                                "helped_ratings": held_ab, "goals": []},
                "b_teaches_a": {"teacher": b["person_id"], "learner": a["person_id"], "held": held_ba,
                                "learned_avg": 3.5, "learned_ratings": held_ba, "helped_avg": 3.0,
                                "helped_ratings": held_ba, "goals": []},
                "share_taught_by_a": held_ab / (held_ab + held_ba) if held_ab + held_ba else None,
                "flags": ["fizzling"] if k % 41 == 0 else [], "version": 3, "began_at": created.isoformat(),
                "ended_at": None, "end_reason": None,
                "flag_details": [{"kind": "fizzling", "reason": "2 sessions in a row did not happen",
                                  "raised_at": now.isoformat(), "neglected": None}] if k % 41 == 0 else []})
    failed = [{"notification_id": f"n{i}", "person_id": people[i * 37]["person_id"], "channel": "webhook",
               "kind": "match_proposed", "last_error": "HTTP 500", "attempts": 5, "cause_event_id": "e",
               "created_at": now.isoformat(), "finished_at": now.isoformat()} for i in range(min(200, n // 37))]
    report = {"program_id": "big", "objective": 3200.5, "coverage": 0.8, "mode": "fast", "participants": n,
              "matched": int(n * 0.8), "unmatched": {p["person_id"]: ["no_eligible_partner"] for p in people[::5]}}
    outcomes = {"program_id": "big", "partnerships": len(partnerships), "active": len(partnerships),
                "with_sessions_held": len(partnerships), "both_learning": 2000, "both_learning_share": 0.5,
                "sessions_due": 24000, "sessions_held": 18000, "held_session_rate": 0.75,
                "balance_histogram": [{"share_taught_by_a": f"{i * 20}-{(i + 1) * 20}%", "partnerships": 800}
                                      for i in range(5)],
                "ended": 250, "ended_by_reason": {"goals_met": 150, "not_a_fit": 100}, "ended_successfully": 150,
                "rematch": {"rematched": 200, "waiting": 50, "median_hours_to_rematch": 30.0}, "thresholds": {}}
    enrolled = {"programs": [{"program_id": "big", "name": "Big program", "configured": True, "enrolled": n,
                              "active": sum(p["active"] for p in people)}]}
    return {
        "/programs": enrolled, "/programs/big/people": {"program_id": "big", "people": people},
        "/programs/big/matches": {"program_id": "big", "matches": matches},
        "/programs/big/cohort-report": report, "/programs/big/schedules": {"schedules": schedules},
        "/programs/big/partnerships": {"partnerships": partnerships}, "/programs/big/outcomes": outcomes,
        "/notifications/failed": {"failed": failed},
        "/programs/match-counts": {"programs": [{"program_id": "big", "name": "Big program",
                                                 "people_matched": len(partnerships) * 2,
                                                 "matches": {"accepted": len(partnerships)}}]},
    }


def service_answers(data: dict[str, Any]) -> Any:
    """What the owning services answer for the console's reads: whole answers as stored, and the paged and
    by-id reads cut from them (`limit`/`offset`, `status`, `match_id`, `person_id`) as the services do."""
    from services.matcher.adapters.views import summarise

    matches = data["/programs/big/matches"]["matches"]
    people = data["/programs/big/people"]["people"]
    names = {p["person_id"]: p for p in people}
    docs = [{"_id": m["match_id"], "person_a": m["person_a"], "person_b": m["person_b"], "status": m["status"],
             "reason": m["reason"], "created_at": datetime.fromisoformat(m["created_at"]),
             "updated_at": datetime.fromisoformat(m["updated_at"])} for m in matches]
    pool = [p["person_id"] for p in people if p["active"]]
    summary = summarise(docs, names, pool, data["/programs/big/cohort-report"])
    by_id = {m["match_id"]: m for m in matches}
    schedules = {s["match_id"]: s for s in data["/programs/big/schedules"]["schedules"]}
    balances = {p["match_id"]: p for p in data["/programs/big/partnerships"]["partnerships"]}
    flagged = [p for p in balances.values() if p["status"] == "active" and p["flag_details"]]
    unschedulable = [s for s in schedules.values() if s["status"] == "unschedulable"]
    fixed = {path: json.dumps(body).encode() for path, body in data.items()}
    fixed["/programs/big/summary"] = json.dumps({
        "program_id": "big", "unmatched": len(summary["unmatched"]),
        **{k: v for k, v in summary.items() if k not in ("unmatched", "order")}}).encode()

    def page(rows: list[Any], q: httpx.QueryParams, key: str) -> dict[str, Any]:
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", 100))
        return {"program_id": "big", "total": len(rows), "offset": offset, "limit": limit,
                key: rows[offset:offset + limit]}

    def answer(path: str, q: httpx.QueryParams) -> Any:
        if path == "/programs/big/matches":
            wanted = set(q.get_list("status"))
            ids = [mid for mid, status in summary["order"] if not wanted or status in wanted]
            return page([by_id[mid] for mid in ids], q, "matches")
        if path == "/programs/big/unmatched":
            return page(summary["unmatched"], q, "people")
        if path == "/programs/big/flagged":
            return page(flagged, q, "partnerships")
        if path == "/programs/big/unschedulable":
            return page(unschedulable, q, "schedules")
        if path == "/programs/big/schedules" and q.get_list("match_id"):
            return {"schedules": [schedules[m] for m in q.get_list("match_id") if m in schedules]}
        if path == "/programs/big/partnerships" and q.get_list("match_id"):
            return {"partnerships": [balances[m] for m in q.get_list("match_id") if m in balances]}
        if path == "/programs/big/people" and q.get_list("person_id"):
            return {"people": [names[p] for p in q.get_list("person_id") if p in names]}
        return fixed.get(path)

    def respond(request: httpx.Request) -> httpx.Response:
        body = answer(request.url.path, request.url.params)
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        return httpx.Response(200 if body else 404, content=body or b'{"detail": "not found"}',
                              headers={"content-type": "application/json"})

    return respond


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from reciprocal.tokens import DevSigningKey
    from services.console.adapters.services import Services
    from services.console.app import create_app
    from services.console.settings import ConsoleSettings

    data = population(args.people)
    answer = service_answers(data)
    whole = {path: json.dumps(body).encode() for path, body in data.items()}

    def whole_answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=whole[request.url.path], headers={"content-type": "application/json"})

    key = DevSigningKey.create(Path(mkdtemp(prefix="bench-console-")))
    import os

    os.environ.update(key.service_env())
    settings = ConsoleSettings(console_session_secret="b" * 40, embedded=True, console_dev_signin=True,
                               console_dev_signing_key=str(key.path), console_cookie_secure=False,
                               log_level="WARNING")

    class NoPublisher:
        async def close(self) -> None:
            pass

    services = Services(settings.service_urls(), transport=httpx.MockTransport(answer))
    app = create_app(settings, services=services, publisher=NoPublisher())  # type: ignore[arg-type]
    rows = []
    with TestClient(app) as web:
        import re

        csrf = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/signin").text).group(1)  # type: ignore[union-attr]
        web.post("/signin/dev", data={"csrf_token": csrf, "org": "acme", "role": "admin"})

        def timed(path: str) -> tuple[float, int]:
            samples, size = [], 0
            for _ in range(args.runs):
                t = time.perf_counter()
                got = web.get(path)
                samples.append(time.perf_counter() - t)
                assert got.status_code == 200, (path, got.status_code, got.text[:300])
                size = len(got.content)
            return statistics.median(samples) * 1000, size

        import asyncio

        async def fetch_only(paths: list[str]) -> None:
            async with httpx.AsyncClient(transport=httpx.MockTransport(whole_answer)) as client:
                for got in await asyncio.gather(*(client.get(f"http://svc{p}") for p in paths)):
                    got.json()

        reads = {  # what each page reads before (the whole program: the baseline) and the JSON report
            "": ["/programs/big/people", "/programs/big/matches", "/programs/big/cohort-report", "/programs"],
            "/matrix": ["/programs/big/matches", "/programs"],
            "/pairs": ["/programs/big/matches", "/programs/big/schedules", "/programs/big/partnerships",
                       "/programs"],
            "/health": ["/programs/big/people", "/programs/big/schedules", "/programs/big/partnerships",
                        "/notifications/failed", "/programs"],
            "/outcomes": ["/programs/big/outcomes", "/programs"],
            "/pairs.csv": ["/programs/big/matches", "/programs/big/schedules", "/programs/big/partnerships"]}
        for page in PAGES:
            ms, size = timed(f"/programs/big{page}")
            samples = []
            for _ in range(args.runs):
                t = time.perf_counter()
                asyncio.run(fetch_only(reads[page]))
                samples.append(time.perf_counter() - t)
            rows.append((f"/programs/big{page or ''}", ms, statistics.median(samples) * 1000, size))
        report_ms = timed("/programs")[0]

    print(f"Console program pages, {args.people:,} people ({args.people // 2:,} matches), median of {args.runs} runs")
    print(f"target: < {TARGET_MS:.0f} ms server time per page\n")
    print("| page | server time (ms) | baseline: whole-program reads, fetch + decode only (ms) | bytes "
          "| within target |")
    print("|---|---|---|---|---|")
    for path, ms, base, size in rows:
        print(f"| {path} | {ms:,.1f} | {base:,.1f} | {size:,} | {'yes' if ms < TARGET_MS else 'NO'} |")
    print(f"\n/programs (the list): {report_ms:.1f} ms")
    return 0 if all(ms < TARGET_MS for _, ms, _, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
