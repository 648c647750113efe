"""The matcher's pure domain logic: taxonomy, eligibility, scoring, proposals, cohort optimisation.

No I/O here: no Kafka, no MongoDB, no asyncio.
"""

from services.matcher.domain.cohort import BlockingPair, CohortResult, blocking_pairs, candidate_graph, optimise
from services.matcher.domain.generator import generate_cohort, generate_program
from services.matcher.domain.index import PoolIndex
from services.matcher.domain.model import Person, Program, person_from_profile, program_from_event
from services.matcher.domain.proposals import best_partner, candidates, expires_at, match_id
from services.matcher.domain.rules import REASON_CODES, ineligibility, pair_overlap, reason_code
from services.matcher.domain.scoring import Scored, harmonic_mean, score_pair, teaches, value
from services.matcher.domain.taxonomy import SKILLS, alias_table, normalise_skill
from shared.availability import Overlap, overlap, program_start

__all__ = [
    "REASON_CODES",
    "SKILLS",
    "BlockingPair",
    "CohortResult",
    "Overlap",
    "Person",
    "PoolIndex",
    "Program",
    "Scored",
    "alias_table",
    "best_partner",
    "blocking_pairs",
    "candidate_graph",
    "candidates",
    "expires_at",
    "generate_cohort",
    "generate_program",
    "harmonic_mean",
    "ineligibility",
    "match_id",
    "normalise_skill",
    "optimise",
    "overlap",
    "pair_overlap",
    "person_from_profile",
    "program_from_event",
    "program_start",
    "reason_code",
    "score_pair",
    "teaches",
    "value",
]
