"""The matcher's pure domain logic: taxonomy, eligibility, scoring, proposals, cohort optimisation.

No I/O here: no Kafka, no MongoDB, no asyncio.
"""

from shared.availability import Overlap, overlap, program_start
from services.matcher.domain.cohort import BlockingPair, CohortResult, blocking_pairs, candidate_graph, optimise
from services.matcher.domain.generator import generate_cohort, generate_program
from services.matcher.domain.index import PoolIndex
from services.matcher.domain.model import Person, Program, person_from_profile, program_from_event
from services.matcher.domain.proposals import best_partner, candidates, expires_at, match_id
from services.matcher.domain.rules import REASON_CODES, ineligibility, pair_overlap, reason_code
from services.matcher.domain.scoring import Scored, harmonic_mean, score_pair, teaches, value
from services.matcher.domain.taxonomy import SKILLS, alias_table, normalise_skill

__all__ = [
    "Overlap", "overlap", "program_start",
    "BlockingPair", "CohortResult", "blocking_pairs", "candidate_graph", "optimise",
    "generate_cohort", "generate_program", "PoolIndex",
    "Person", "Program", "person_from_profile", "program_from_event",
    "best_partner", "candidates", "expires_at", "match_id",
    "REASON_CODES", "ineligibility", "pair_overlap", "reason_code",
    "Scored", "harmonic_mean", "score_pair", "teaches", "value",
    "SKILLS", "alias_table", "normalise_skill",
]  # fmt: skip
