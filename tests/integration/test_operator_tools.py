"""`reciprocal publish`, `tail` and `dlq list` / `dlq replay`, driven as an operator would, against the real broker
and a running profiles service."""

import asyncio
import json
import uuid
from pathlib import Path

from support import of_org, profile
from typer.testing import CliRunner

from reciprocal.cli import app
from reciprocal.wire import Frontend, Tap

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_published_lines_come_back_from_tail_and_bad_lines_are_reported_not_sent(stack, tmp_path: Path):
    org = f"org-{uuid.uuid4().hex[:6]}"
    good = [profile(org, f"p{i}-{org}", offers=["sql"], wants=["coaching"]) for i in range(2)]
    lines = [json.dumps(good[0]), "{not json", json.dumps({"org_id": org, "display_name": "no person id"}),
             json.dumps(good[1])]
    file = tmp_path / "profiles.jsonl"
    file.write_text("\n".join(lines) + "\n")

    published = cli("publish", "profiles.submitted", str(file), "--bootstrap", stack.kafka_bootstrap)
    assert published.exit_code == 1
    assert f"{file}:2: not published: not JSON" in published.stderr
    assert f"{file}:3: not published:" in published.stderr and "person_id" in published.stderr
    assert "published 2 to profiles.submitted; 2 bad lines" in published.stdout

    state = tmp_path / "state.json"
    state.write_text(json.dumps({"kafka_bootstrap": stack.kafka_bootstrap}))
    tailed = cli("tail", "profiles.submitted", "--from-beginning", "--idle-ms", "1500", "--state-file", str(state))
    assert tailed.exit_code == 0
    mine = of_org(json_lines(tailed.stdout), org)
    assert sorted(e["person_id"] for e in mine) == sorted(p["person_id"] for p in good)  # keys spread over partitions
    assert all(e["event_type"] == "profiles.submitted" and uuid.UUID(e["event_id"]) and e["occurred_at"]
               for e in mine)


def test_tail_without_from_beginning_starts_at_the_end(stack):
    limited = cli("tail", "profiles.submitted", "--idle-ms", "800", "--bootstrap", stack.kafka_bootstrap)
    assert limited.exit_code == 0 and json_lines(limited.stdout) == []


async def _dead_letter_a_profile(stack, org: str) -> tuple[str, dict]:
    """A profiles.submitted the profiles service cannot parse (max_partners is not a number): it dead-letters it."""
    event_id = str(uuid.uuid4())
    person = profile(org, f"ana-{org}", offers=["sql"], wants=["coaching"], max_partners="several")
    body = {"event_id": event_id, "event_type": "profiles.submitted", **person}
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["profiles.submitted.dlq"]) as tap:
        await fe.publish_raw("profiles.submitted", json.dumps(body).encode(), key=person["person_id"].encode())
        await tap.wait_for(lambda t: any(r.key == person["person_id"].encode() for r in t.records),
                           what="the dead letter")
    return event_id, body


async def _changes_after_replays(stack, org: str, replays) -> tuple[list[dict], list]:
    topics = ["profiles.changed", "profiles.submitted"]
    async with Tap(stack.kafka_bootstrap, topics) as tap:
        results = []
        for replay in replays:
            results.append(await asyncio.to_thread(replay))
            await tap.wait_for(lambda t: of_org(t.events("profiles.changed"), org), what="the replayed profile")
        await tap.settle("profiles.changed", quiet=2.0)
    replayed = [r for r in tap.records if r.topic == "profiles.submitted" and org.encode() in r.value
                and ("reciprocal-replay", b"true") in r.headers]
    return of_org(tap.events("profiles.changed"), org), [results, replayed]


def test_dead_letters_are_listed_with_reasons_and_a_fixed_replay_takes_effect_once(stack, tmp_path: Path):
    org = f"org-{uuid.uuid4().hex[:6]}"
    event_id, body = asyncio.run(_dead_letter_a_profile(stack, org))
    boot = ("--bootstrap", stack.kafka_bootstrap)

    listed = cli("dlq", "list", "profiles.submitted", "--json", *boot)
    assert listed.exit_code == 0
    letter = next(d for d in json_lines(listed.stdout) if d["event_id"] == event_id)
    assert letter["error_type"] == "schema_invalid"
    assert "max_partners" in letter["error_message"]
    assert letter["consumer_group"] == "reciprocal-profiles"
    assert letter["attempts"] == 1
    assert letter["original_topic"] == "profiles.submitted"
    assert letter["key"] == body["person_id"]
    assert letter["original_offset"] is not None and letter["dlq_topic"] == "profiles.submitted.dlq"
    as_text = cli("dlq", "list", "profiles.submitted.dlq", *boot)
    assert f"event_id={event_id}" in as_text.stdout and "schema_invalid: max_partners" in as_text.stdout

    unfixed = cli("dlq", "replay", "profiles.submitted", "--id", event_id, *boot)
    assert unfixed.exit_code == 1 and "still invalid" in unfixed.stderr

    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(json.dumps({**body, "max_partners": 2}) + "\n")
    replay = ("dlq", "replay", "profiles.submitted", "--id", event_id, "--fixed", str(fixed), *boot)
    changes, (results, replayed) = asyncio.run(
        _changes_after_replays(stack, org, [lambda: cli(*replay), lambda: cli(*replay)]))

    assert [r.exit_code for r in results] == [0, 0]
    assert len(replayed) == 2, "each replay republishes"
    headers = dict(replayed[0].headers)
    assert headers["reciprocal-replay"] == b"true" and not any(k.startswith("dlq-") for k in headers)
    assert replayed[0].key == body["person_id"].encode()
    assert [(c["person_id"], c["version"], c["max_partners"]) for c in changes] == [(body["person_id"], 1, 2)]


def test_a_dead_letter_that_is_not_json_is_named_by_its_listed_id_and_replayed_fixed(stack, tmp_path: Path):
    org = f"org-{uuid.uuid4().hex[:6]}"
    person = profile(org, f"bo-{org}", offers=["sql"], wants=["coaching"])

    async def garble() -> None:
        async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["profiles.submitted.dlq"]) as t:
            await fe.publish_raw("profiles.submitted", b"\x00" + org.encode(), key=person["person_id"].encode())
            await t.wait_for(lambda t: any(r.key == person["person_id"].encode() for r in t.records), what="dlq")

    asyncio.run(garble())
    boot = ("--bootstrap", stack.kafka_bootstrap)
    letters = json_lines(cli("dlq", "list", "profiles.submitted", "--json", *boot).stdout)
    letter = next(d for d in letters if d["key"] == person["person_id"])
    assert letter["error_type"] == "not_json" and letter["event_id_from_position"]
    again = json_lines(cli("dlq", "list", "profiles.submitted", "--json", *boot).stdout)
    assert letter["event_id"] in {d["event_id"] for d in again}, "the same id on every listing"

    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(json.dumps({"event_id": letter["event_id"], **person}) + "\n")
    replay = ("dlq", "replay", "profiles.submitted.dlq", "--id", letter["event_id"], "--fixed", str(fixed), *boot)
    changes, (results, _) = asyncio.run(_changes_after_replays(stack, org, [lambda: cli(*replay)] * 2))
    assert [r.exit_code for r in results] == [0, 0]
    assert [(c["person_id"], c["version"]) for c in changes] == [(person["person_id"], 1)]
