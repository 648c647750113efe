"""What one transaction has read of the people of one program, kept as the database has it while the
transaction proposes and withdraws: so that a batch reads each person's profile and pair history once,
not once per candidate check, and writes its proposals in one bulk write."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.matcher.adapters.repository import MatcherRepository, PairHistory
from services.matcher.domain import Person, Program
from services.matcher.domain.match import Match
from shared.store import Tx


class ProposalCollided(RuntimeError):
    """A proposal this transaction made was already in the database: the reads it was based on were
    stale. Raising aborts the transaction, which is retried (never seen while the program's matching
    turn serialises its writers)."""


@dataclass
class Known:
    program: Program
    persons: dict[str, Person] = field(default_factory=dict)
    history: PairHistory = field(default_factory=PairHistory)
    """Exact for the loaded people: their open load and everyone they have a match with."""
    loaded: set[str] = field(default_factory=set)
    proposed: list[Match] = field(default_factory=list)
    """Proposals emitted and not yet written (see `flush`)."""

    async def ensure(self, tx: Tx, repo: MatcherRepository, person_ids: Iterable[str]) -> None:
        """Read the profiles and pair history of the people not loaded yet: two reads, whatever their number."""
        missing = set(person_ids) - self.loaded
        if not missing:
            return
        self.persons.update(await repo.persons(self.program, missing, tx))
        theirs = await repo.history_of(self.program, missing, tx)
        for pid in missing:
            self.history.load[pid] = theirs.load.get(pid, 0)
            self.history.partners[pid] = set(theirs.partners.get(pid, ()))
        self.loaded |= missing

    def seed(self, persons: dict[str, Person], matches: Iterable[Match]) -> None:
        """Take these people as loaded without reading them: their profiles as this transaction wrote
        them, and every match they have (any program: those of others are left out)."""
        theirs = PairHistory.of(self.program.program_id, matches)
        for pid, person in persons.items():
            if pid in self.loaded:
                continue
            self.persons[pid] = person
            self.history.load[pid] = theirs.load.get(pid, 0)
            self.history.partners[pid] = set(theirs.partners.get(pid, ()))
            self.loaded.add(pid)

    def load(self, person_id: str) -> int:
        return self.history.load.get(person_id, 0)

    def blocked(self, person_id: str) -> set[frozenset[str]]:
        """The person's pairs that have a match: open pairs are busy, closed ones blocked."""
        return {frozenset((person_id, q)) for q in self.history.partners.get(person_id, ())}

    def propose(self, match: Match) -> None:
        self.proposed.append(match)
        self._paired(match.person_a, match.person_b, +1)

    def withdrawn(self, match: Match) -> None:
        """An open match closed: a place each is free again; the pair stays blocked."""
        self._paired(match.person_a, match.person_b, -1)

    def _paired(self, a: str, b: str, change: int) -> None:
        for me, other in ((a, b), (b, a)):
            if me in self.loaded:
                self.history.load[me] = self.load(me) + change
                self.history.partners.setdefault(me, set()).add(other)

    async def flush(self, tx: Tx, repo: MatcherRepository) -> None:
        """Write the proposals made since the last flush, in one bulk write."""
        if not self.proposed:
            return
        matches, self.proposed = self.proposed, []
        inserted = await repo.insert_matches(tx, matches)
        if inserted != len(matches):
            raise ProposalCollided(f"{len(matches) - inserted} of {len(matches)} proposals already existed")
