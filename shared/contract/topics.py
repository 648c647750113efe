"""The topic registry: every topic, its event model, its partition count and its lane."""

from dataclasses import dataclass

from shared.contract import events as ev
from shared.contract.envelope import Event


@dataclass(frozen=True)
class Topic:
    name: str
    model: type[Event]
    partitions: int = 3
    interactive: bool = False
    """A person is waiting on it: consumed by a lane of its own, so a bulk backlog never delays it."""

    @property
    def key_field(self) -> str:
        return self.model.key_field


_MODELS: list[type[Event]] = [
    ev.ProgramConfigured, ev.MatchRequested, ev.ProfileSubmitted, ev.ProfileWithdrawn, ev.ProfileChanged,
    ev.ProfileRejected, ev.MatchResponded, ev.MatchProposed, ev.MatchAccepted, ev.MatchDeclined,
    ev.MatchWithdrawn, ev.ScheduleCreated, ev.ScheduleUpdated, ev.ScheduleUnschedulable, ev.SessionUpcoming,
    ev.NotificationSent, ev.NotificationFailed,
    ev.SessionCheckedIn, ev.CheckInRejected, ev.CheckInRequested, ev.BalanceChanged, ev.PartnershipFlagged,
    ev.EndRequested, ev.MatchPreviewed, ev.MatchApproved, ev.MatchApprovalRefused,
    ev.ErasureRequested, ev.ProfileErased, ev.ErasureConfirmed,
]

_INTERACTIVE: set[type[Event]] = {ev.MatchResponded, ev.SessionCheckedIn, ev.EndRequested}

TOPICS: dict[str, Topic] = {m.topic(): Topic(m.topic(), m, interactive=m in _INTERACTIVE) for m in _MODELS}


def is_interactive(topic: str) -> bool:
    return topic in TOPICS and TOPICS[topic].interactive


def topic_of(event: Event) -> str:
    return type(event).topic()


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topic_names() -> list[str]:
    """Every topic the stack uses, dead-letter topics included: create these explicitly."""
    return [name for t in TOPICS for name in (t, dlq_topic(t))]
