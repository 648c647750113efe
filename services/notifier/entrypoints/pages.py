"""The small HTML pages behind the one-click links: autoescaped, self-contained (no external
resources), and served with headers that keep them from being framed, cached or leaking the link."""

from collections.abc import Mapping
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.notifier.domain.links import DECLINE_REASONS, END_REASONS, HAPPENED, NOTE_MAX, RATINGS, Purpose
from services.notifier.domain.messages import TEMPLATES

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

TITLES = {
    Purpose.ACCEPT: "Accept your mentoring match",
    Purpose.DECLINE: "Decline your mentoring match",
    Purpose.CHECK_IN: "How did your session go?",
    Purpose.END: "End your mentoring partnership",
}
DECLINE_LABELS = dict(zip(DECLINE_REASONS, ("It is not relevant to my goals", "The timing does not work for me",
                                             "Another reason"), strict=True))
HAPPENED_LABELS = dict(zip(HAPPENED, ("Yes, it happened", "No, we missed it", "We moved it to another time"),
                           strict=True))
END_LABELS = dict(zip(END_REASONS, ("We are not a good fit", "Our schedules do not work",
                                    "I am leaving the organisation", "Our goals are met"), strict=True))
FIELDS = ("reason", "happened", "learned", "helped", "note")

environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
)


def page(template: str, status: int, **context: Any) -> HTMLResponse:
    html = environment.get_template(f"pages/{template}.html").render(context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def confirmation(purpose: Purpose, form: Mapping[str, str], *, problem: str = "", status: int = 200) -> HTMLResponse:
    return page(
        "confirm", status, title=TITLES[purpose], purpose=str(purpose), problem=problem,
        form={f: form.get(f, "") for f in FIELDS}, decline_reasons=DECLINE_LABELS.items(),
        happened=HAPPENED_LABELS.items(), end_reasons=END_LABELS.items(), ratings=RATINGS, note_max=NOTE_MAX,
    )


def answered(purpose: Purpose, summary: str, *, published: bool) -> HTMLResponse:
    title = "Thank you" if published else "Already answered"
    return page("answered", 200 if published else 409, title=title, summary=summary, published=published)


REFUSALS = {
    400: ("This link does not work", "This link is not one we sent, or it was changed on the way",
          "Open the link from the message itself, without editing it."),
    404: ("Page not found", "There is no such page", "Open the link from the message itself."),
    410: ("This link has expired", "This link has expired",
          "Links in our messages work for a limited time. Look for a newer message, or ask your program admin."),
}


def refused(status: int) -> HTMLResponse:
    title, message, advice = REFUSALS[status]
    return page("refused", status, title=title, message=message, advice=advice)
