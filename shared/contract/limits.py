"""The contract's limits, defined once: the pydantic models, the JSON Schemas and README.md use these numbers.

Every string and list a frontend can send has a maximum, so one message can never grow a
document, an outgoing event or a rejection beyond what the broker and the database accept.
"""

# --- lengths of strings (characters) -------------------------------------------------------------
ID_MAX = 128
"""Every id: org, person, manager, program, match, correlation."""
NAME_MAX = 200
"""Display names, departments, sites, program names."""
EMAIL_MAX = 254
"""The longest address SMTP can carry (RFC 5321)."""
SKILL_MAX = 100
"""Skills, interests, and both sides of a skill alias."""
LANGUAGE_MAX = 35
"""A language or locale tag (BCP 47)."""
TIMEZONE_MAX = 64
"""An IANA zone name such as America/Argentina/ComodRivadavia."""
NOTE_MAX = 500
"""An offer's note."""
GOAL_MAX = 1000
"""A want's goal."""
CHECKIN_NOTE_MAX = 2000
"""The private note of a check-in or an end request: never shown to the partner, never logged."""
REASON_MAX = 1000
"""A free-text reason (withdrawing, declining)."""
GROUND_RULE_MAX = 500
"""One ground rule of a program."""
URL_MAX = 2048
"""A webhook URL."""

# --- lengths of lists (entries) ------------------------------------------------------------------
PROGRAMS_MAX = 20
OFFERS_MAX = 50
WANTS_MAX = 50
WINDOWS_MAX = 50
INTERESTS_MAX = 50
LANGUAGES_MAX = 20
MEETING_MODES_MAX = 4
CHANNELS_MAX = 3
GROUND_RULES_MAX = 20
SKILL_ALIASES_MAX = 500
AGENDA_GOALS_MAX = 100
"""Goals listed in one `partnerships.flagged` or one direction of a balance snapshot."""

# --- ranges of numbers ---------------------------------------------------------------------------
LEVEL_MIN, LEVEL_MAX = 1, 5
"""An offer's level: 1 (basic) to 5 (expert)."""
PRIORITY_MIN, PRIORITY_MAX = 1, 3
"""A want's priority: 1 (nice to have) to 3 (must have)."""
PARTNERS_MIN, PARTNERS_MAX = 1, 5
"""How many partners a person takes at once."""

# --- the rejection itself ------------------------------------------------------------------------
REJECTION_ERRORS_MAX = 50
"""At most this many errors in one `profiles.rejected`; the last one says how many more there were."""
ERROR_FIELD_MAX = 100
ERROR_MESSAGE_MAX = 300
