"""The web console in headless Chromium: an admin reads a seeded program (heatmap, health), previews a
cohort match, approves it and watches the proposals appear live; a participant sees only their own
partnership, checks in and sees the balance change; other people's and other orgs' pages are refused.
axe-core runs on every page, actions are done from the keyboard, and every page is screenshotted."""

import re

import httpx
import pytest
from console_seed import COHORT, LIVE, ORG, OTHER_ORG
from pages import check_page, prepare, press, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def base(console_stack):
    return console_stack[0].service_url("console")


@pytest.fixture
def problems(page):
    found: list[str] = []
    prepare(page, found)
    yield found
    assert not found, f"browser console errors: {found}"


def test_admin_reads_the_seeded_program(page, base, problems, screenshots):
    sign_in(page, base, ORG, "admin")
    assert page.url.endswith("/programs")
    row = page.locator("#table-programs tr", has_text="Pilot programme")
    assert [c.strip() for c in row.locator("td").all_inner_texts()[:5]] == ["pilot", "4", "4", "4", "2"]
    check_page(page, screenshots, "admin-programs")

    page.get_by_role("link", name="Open Pilot programme").click()
    assert page.locator("#fig-enrolled").inner_text() == "4"
    assert page.locator("#fig-coverage").inner_text() == "100%"
    assert page.locator("#fig-accepted").inner_text() == "2"
    page.wait_for_function("() => document.querySelector('#proposals-chart') && "
                           "Chart.getChart(document.querySelector('#proposals-chart')) !== undefined")
    check_page(page, screenshots, "admin-program-overview")

    page.get_by_role("link", name="Department matrix").click()
    cell = page.locator('#heatmap td[data-from="Finance"][data-to="Marketing"]')
    assert cell.inner_text() == "1"
    assert page.locator('#heatmap td[data-from="Engineering"][data-to="Finance"]').inner_text() == "1"
    assert page.locator('#heatmap td[data-from="Marketing"][data-to="Engineering"]').inner_text() == "0"
    page.wait_for_function("() => Chart.getChart(document.querySelector('#heatmap-chart')) !== undefined")
    drawn = page.evaluate("() => { const c = Chart.getChart(document.querySelector('#heatmap-chart'));"
                          " return {type: c.config.type, cells: c.data.datasets[0].data}; }")
    assert drawn["type"] == "matrix"  # chartjs-chart-matrix, from the table's own figures
    assert {"x": "Marketing", "y": "Finance", "v": 1} in drawn["cells"]
    assert {"x": "Engineering", "y": "Marketing", "v": 0} in drawn["cells"]
    check_page(page, screenshots, "admin-department-matrix")

    page.get_by_role("link", name="Pairs").click()
    pairs = page.locator("#table-pairs tbody tr")
    assert pairs.count() == 2
    ana_ben = page.locator("#table-pairs tr", has_text="Ana Admiral")
    assert "value_a_to_b" in ana_ben.inner_text() and "leadership" in ana_ben.inner_text()
    check_page(page, screenshots, "admin-pairs")

    page.get_by_role("link", name="Health").click()
    # Nobody has checked in yet: the pairs fizzle, and the page shows it live (no reload).
    page.wait_for_function("() => document.querySelector('#table-flagged') && "
                           "document.querySelector('#table-flagged').innerText.includes('Cai Coder')", timeout=90_000)
    flagged = page.locator("#table-flagged tr", has_text="Cai Coder").inner_text()
    assert "fizzling" in flagged and "sessions happened" in flagged  # (Ana and Ben may fizzle too by now)
    page.wait_for_function("() => document.querySelector('#table-failed') && "
                           "document.querySelector('#table-failed').innerText.includes('webhook')", timeout=30_000)
    check_page(page, screenshots, "admin-health")

    page.get_by_role("link", name="Outcomes").click()
    assert page.locator("#fig-both").is_visible()
    check_page(page, screenshots, "admin-outcomes")

    page.get_by_role("link", name="Configure").click()
    check_page(page, screenshots, "admin-configure")

    answer = page.request.get(f"{base}/programs/{LIVE}/pairs.csv")
    assert answer.ok and answer.headers["content-type"].startswith("text/csv")
    assert answer.text().splitlines()[0].startswith("Partner A,Partner B,Status,Score")

    # The admin ends the fizzling partnership, from the keyboard.
    page.goto(f"{base}/programs/{LIVE}/pairs")
    press(page, 'button[aria-label^="End the partnership of Cai Coder"]')
    assert "notice=endn" in page.url
    page.wait_for_function("() => [...document.querySelectorAll('#table-pairs tbody tr')].some("
                           "r => r.innerText.includes('Cai Coder') && r.innerText.includes('ended'))", timeout=15_000)
    assert "running" in page.locator("#table-pairs tr", has_text="Ana Admiral").inner_text()


def test_preview_approve_and_watch_the_proposals_arrive(page, context, base, problems, screenshots):
    sign_in(page, base, ORG, "admin")
    page.goto(f"{base}/programs/{COHORT}")
    assert page.locator("#fig-pending").inner_text() == "0"

    other = context.new_page()  # the same admin in a second tab: the first one is never reloaded
    prepare(other, problems)
    other.goto(f"{base}/programs/{COHORT}/preview")
    press(other, "#run-preview")
    other.wait_for_url(re.compile(r"/preview\?notice=previewed"))
    assert other.locator("#preview-pairs").inner_text() == "2"
    assert other.locator("#preview-coverage").inner_text() == "100%"
    assert other.locator('#heatmap td[data-from="Design"][data-to="Sales"]').inner_text() == "1"
    check_page(other, screenshots, "admin-cohort-preview")
    press(other, "#approve-preview")
    other.wait_for_url(re.compile(rf"/programs/{COHORT}\?notice=approved"))

    page.wait_for_function("() => document.querySelector('#fig-pending').innerText === '2'", timeout=15_000)
    assert page.url.endswith(f"/programs/{COHORT}")  # the first tab was never reloaded
    assert page.locator("#table-proposals tbody tr").count() == 2
    check_page(page, screenshots, "admin-cohort-after-approval")

    # Withdraw one proposal, from the keyboard: it leaves the pending list.
    press(page, "#table-proposals tbody tr:first-child button")
    assert "notice=withdrawn" in page.url
    page.wait_for_function("() => document.querySelector('#fig-withdrawn').innerText === '1'", timeout=15_000)
    assert page.locator("#fig-pending").inner_text() == "1"


def test_participant_sees_only_their_partnership_and_checks_in(page, base, problems, screenshots, console_stack):
    sign_in(page, base, ORG, "participant", "ana")
    assert page.url.endswith("/me")
    partners = page.locator("article.partnership")
    assert partners.count() == 1
    text = partners.first.inner_text()
    assert "Ben Builder" in text and "You teach Ben Builder: leadership" in text
    assert "Cai" not in page.content() and "Dee Data" not in page.content()
    assert page.locator("#my-timezone").inner_text() == "America/New_York"
    assert "/calendar/" in page.locator("#calendar-feed").inner_text()

    # The kickoff comes round within a virtual week (7 s): the check-in form appears live.
    page.wait_for_selector("form.checkin", timeout=60_000)
    held_before = int(page.locator("p.balance").get_attribute("data-held"))
    check_page(page, screenshots, "participant-my-mentoring")
    press(page, "form.checkin button[type=submit]")
    page.wait_for_url(re.compile(r"/me\?notice=checkedin"))
    page.wait_for_function(f"() => parseInt(document.querySelector('p.balance').dataset.held) > {held_before}",
                           timeout=30_000)
    assert page.locator("#table-checkins tbody tr").count() >= 1
    check_page(page, screenshots, "participant-after-check-in")

    # Another participant's page, an admin page, and another pair's partnership are refused.
    page.goto(f"{base}/people/cai")
    assert page.locator("h1").inner_text() == "Not allowed"
    check_page(page, screenshots, "participant-refused")
    assert page.request.get(f"{base}/people/cai").status == 403
    assert page.request.get(f"{base}/programs").status == 403
    assert page.request.get(f"{base}/programs/{LIVE}/pairs.csv").status == 403
    page.goto(f"{base}/me")
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    cai_dee = console_stack[1]["cai_dee"]
    answer = page.request.post(f"{base}/people/ana/matches/{cai_dee}/checkin",
                               form={"csrf_token": csrf, "session_id": f"{cai_dee}-s01", "happened": "yes"})
    assert answer.status == 403
    answer = page.request.post(f"{base}/people/cai/matches/{cai_dee}/end",
                               form={"csrf_token": csrf, "reason": "not_a_fit"})
    assert answer.status == 403
    answer = page.request.post(f"{base}/people/ana/matches/{cai_dee}/end", form={"reason": "not_a_fit"})
    assert answer.status == 403  # no CSRF token


def test_other_org_sees_nothing_of_this_org(page, base, problems):
    sign_in(page, base, OTHER_ORG, "admin")
    table = page.locator("#table-programs").inner_text()
    assert "Other org's pilot" in table and "Pilot programme" not in table and "Spring cohort" not in table
    assert page.request.get(f"{base}/people/ana").status == 404
    assert page.request.get(f"{base}/programs/{COHORT}").status == 404
    pairs = page.request.get(f"{base}/programs/{LIVE}/pairs.csv").text()
    assert "Ana" not in pairs and "Ben" not in pairs


def test_session_cookie_and_headers(base):
    with httpx.Client(base_url=base) as web:
        answer = web.get("/signin")
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert "unsafe-inline" not in answer.headers["content-security-policy"]
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert web.post("/signin/dev", data={"org": ORG, "role": "admin"}).status_code == 403  # no CSRF token
