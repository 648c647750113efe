"""The event contract: one pydantic model per topic, the single source of the JSON Schemas and AsyncAPI."""

from shared.contract.envelope import Event
from shared.contract.events import *  # noqa: F403
from shared.contract.events import __all__ as _events
from shared.contract.topics import TOPICS, Topic, dlq_topic, topic_of

__all__ = ["Event", "TOPICS", "Topic", "dlq_topic", "topic_of", *_events]
