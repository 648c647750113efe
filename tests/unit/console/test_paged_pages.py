"""The console's program pages read the owning services' figures and one page of rows at a time (here
answered by the console benchmark's mock of those services, on a small program): the figures shown, the
pager, and CSV exports with every row, the pairs one streamed page by page."""

import asyncio
import csv
import io
import re

import httpx
import pytest
from fastapi.testclient import TestClient

from benchmarks.console.bench_pages import population, service_answers
from reciprocal.tokens import DevSigningKey
from services.console.adapters.services import Services
from services.console.app import create_app
from services.console.settings import ConsoleSettings


class NoPublisher:
    async def close(self) -> None:
        pass


@pytest.fixture
def web(tmp_path, monkeypatch):
    key = DevSigningKey.create(tmp_path)
    for name, value in key.service_env().items():
        monkeypatch.setenv(name, value)
    seen: list[httpx.Request] = []
    respond = service_answers(population(2000))

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(request)

    settings = ConsoleSettings(console_session_secret="b" * 40, embedded=True, console_dev_signin=True,
                               console_dev_signing_key=str(key.path), console_cookie_secure=False)
    services = Services(settings.service_urls(), transport=httpx.MockTransport(answer))
    app = create_app(settings, services=services, publisher=NoPublisher())  # type: ignore[arg-type]
    with signed_in(TestClient(app)) as client:
        client.seen = seen  # type: ignore[attr-defined]
        yield client


def console_with(answer, tmp_path, monkeypatch) -> TestClient:
    key = DevSigningKey.create(tmp_path)
    for name, value in key.service_env().items():
        monkeypatch.setenv(name, value)
    settings = ConsoleSettings(console_session_secret="b" * 40, embedded=True, console_dev_signin=True,
                               console_dev_signing_key=str(key.path), console_cookie_secure=False)
    services = Services(settings.service_urls(), transport=httpx.MockTransport(answer))
    return TestClient(create_app(settings, services=services, publisher=NoPublisher()))  # type: ignore[arg-type]


def signed_in(client: TestClient) -> TestClient:
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)  # type: ignore[union-attr]
    client.post("/signin/dev", data={"csrf_token": csrf, "org": "acme", "role": "admin"})
    return client


def rows_of(answer: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.text)))


def test_every_page_reads_bounded_pages_of_the_services(web):
    for page in ("", "/matrix", "/pairs", "/health", "/outcomes"):
        web.seen.clear()
        assert web.get(f"/programs/big{page}").status_code == 200, page
        for request in web.seen:
            assert request.url.path not in ("/programs/big/people", "/programs/big/schedules",
                                            "/programs/big/partnerships") or request.url.params, request.url
            if request.url.path.endswith("/matches"):
                assert int(request.url.params["limit"]) <= 500


def test_the_pairs_page_shows_one_page_and_the_csv_has_every_pair(web):
    # 1,000 matches, most accepted: more pairs than one page shows, and than one read of the CSV asks for
    page = web.get("/programs/big/pairs?page=2")
    assert "page 2 of" in page.text and page.status_code == 200
    answer = web.get("/programs/big/pairs.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = rows_of(answer)
    total = int(re.search(r"Rows \d+–\d+ of (\d+)", page.text).group(1))  # type: ignore[union-attr]
    assert rows[0][0] == "Partner A" and len(rows) == 1 + total
    assert len({tuple(r) for r in rows[1:]}) == total  # each pair once, across the streamed pages


def test_overview_figures_and_exports(web):
    page = web.get("/programs/big")
    assert page.status_code == 200 and "Pending proposals" in page.text
    shown = int(re.search(r'People left out, and why <span class="count">\((\d+)\)', page.text).group(1))  # type: ignore[union-attr]
    unmatched = rows_of(web.get("/programs/big/unmatched.csv"))
    assert unmatched[0] == ["Person", "Department", "Reason"] and len(unmatched) == 1 + shown > 101
    assert rows_of(web.get("/programs/big/matrix.csv"))[0][0] == "Department"
    assert web.get("/programs/big/nothing.csv").status_code == 404


async def test_gather_takes_paths_answers_if_missing_and_parameters():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/gone":
            return httpx.Response(404, json={"detail": "not found"})
        return httpx.Response(200, json={"path": request.url.path})

    services = Services({"s": "http://s"}, transport=httpx.MockTransport(answer))
    got = await services.gather("t", a=("s", "/a"), b=("s", "/gone", None), c=("s", "/c", ..., {"id": ["x", "y"]}))
    assert got == {"a": {"path": "/a"}, "b": None, "c": {"path": "/c"}}
    assert [r.url.params.get_list("id") for r in seen if r.url.path == "/c"] == [["x", "y"]]
    await services.close()


def test_a_page_reads_its_figures_beside_the_list_of_programs_not_after_it(tmp_path, monkeypatch):
    """The profiles service's list of programs (a memoised figure of the whole org) and the page's own
    figures are asked side by side: a page waits for the slower of the two, not for their sum."""
    respond = service_answers(population(200))
    asked: dict[str, asyncio.Event] = {}

    async def answer(request: httpx.Request) -> httpx.Response:
        for path in ("/programs", "/programs/big/summary"):
            asked.setdefault(path, asyncio.Event())
        if request.url.path in asked:
            asked[request.url.path].set()
            other = next(p for p in asked if p != request.url.path)
            try:  # each answers only once the other has been asked (in turn, they would never both be)
                await asyncio.wait_for(asked[other].wait(), 2.0)
            except TimeoutError:
                return httpx.Response(504, json={"detail": f"{other} not asked meanwhile"})
        return respond(request)

    with signed_in(console_with(answer, tmp_path, monkeypatch)) as web:
        for page in ("", "/matrix"):
            asked.clear()
            assert web.get(f"/programs/big{page}").status_code == 200, page
        asked.clear()
        asked["/programs/big/summary"] = asyncio.Event()
        asked["/programs/big/summary"].set()  # the list of programs answers at once
        assert web.get("/programs/nowhere").status_code == 404  # not listed: 404, whatever the matcher says
