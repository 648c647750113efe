"""Helpers the browser tests share: signing in from the keyboard, axe-core, screenshots, waiting."""

import json
from pathlib import Path
from typing import Any

from browser_env import AXE

SERIOUS = ("serious", "critical")


def prepare(page: Any, problems: list[str]) -> None:
    """axe-core injected on every document (as an init script: the CSP allows no inline script), and every
    console error (a CSP violation is one) kept."""
    page.add_init_script(path=str(AXE))
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))


def sign_in(page: Any, base: str, org: str, role: str, person: str = "") -> None:
    """The development sign-in, done from the keyboard only."""
    page.goto(f"{base}/signin")
    page.locator("#org").focus()
    page.keyboard.type(org)
    page.keyboard.press("Tab")
    if role == "participant":
        page.keyboard.press("ArrowDown")  # the role <select>: admin, then participant
    page.keyboard.press("Tab")
    if person:
        page.keyboard.type(person)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["html"] for n in v["nodes"]][:3]} for v in result["violations"] if v["impact"] in SERIOUS]


def check_page(page: Any, screenshots: Path, name: str) -> None:
    """No serious or critical axe violation, and a full-page screenshot in the artifact folder."""
    page.wait_for_load_state("load")
    bad = axe_violations(page)
    assert not bad, f"axe on {name} ({page.url}): {json.dumps(bad, indent=1)}"
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def press(page: Any, selector: str) -> None:
    """Activate a control from the keyboard: focus it, press Enter."""
    page.locator(selector).first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
