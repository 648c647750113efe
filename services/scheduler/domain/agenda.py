"""Session agendas, built from the learner's concrete goals."""

from collections.abc import Iterable, Sequence
from typing import Any

from services.scheduler.domain.model import Participant, SeriesPlan
from shared.contract.events import DEFAULT_GROUND_RULES

Goal = tuple[str, str]  # (skill, goal)


def teaching_pairs(teachings: Iterable[Any] | None) -> list[Goal]:
    """Normalise Teaching models, dicts or (skill, goal) tuples; drop repeats."""
    pairs: list[Goal] = []
    for item in teachings or ():
        if isinstance(item, tuple):
            skill, goal = item
        elif isinstance(item, dict):
            skill, goal = item["skill"], item.get("goal")
        else:
            skill, goal = item.skill, item.goal
        pair = (skill, goal or skill)
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def learner_goals(learner: Participant, taught: Sequence[Goal]) -> list[Goal]:
    """The goals the teacher serves; without any, the learner's own wants, most wanted first."""
    if taught:
        return list(taught)
    wants = sorted(learner.wants, key=lambda want: -want[2])
    return [(skill, goal or skill) for skill, goal, _ in wants]


def kickoff_agenda(plan: SeriesPlan, a: Participant, a_goals: Sequence[Goal],
                   b: Participant, b_goals: Sequence[Goal]) -> list[str]:
    items = [f"Ground rule: {rule}" for rule in plan.ground_rules or DEFAULT_GROUND_RULES]
    for person, goals in ((a, a_goals), (b, b_goals)):
        if goals:
            items += [f"{person.name}'s goal: {goal} ({skill})" for skill, goal in goals]
        else:
            items.append(f"{person.name} shares what they want to learn")
    items.append("Agree when and how you meet, and the first topic for each of you")
    return items


def teaching_agenda(teacher: Participant, learner: Participant, goals: Sequence[Goal], turn: int) -> list[str]:
    """`turn` counts earlier sessions in the same direction, so the goals rotate."""
    if not goals:
        return [f"{learner.name} brings a current challenge to work on with {teacher.name}",
                "Agree one next step to try before the next session"]
    skill, goal = goals[turn % len(goals)]
    return [f"{teacher.name} helps {learner.name} with {skill}",
            f"Goal: {goal}",
            "Agree one next step to try before the next session"]


def neglected_agenda(teacher: Participant, learner: Participant, neglected_goals: Sequence[str],
                     taught: Sequence[Goal]) -> list[str]:
    """The agenda of a session given to a neglected direction: the first neglected goal (under its skill
    where the teacher's teachings or the learner's wants name it); without any neglected goal, the
    learner's goals as for every teaching session."""
    skill_of = {goal.casefold(): skill for skill, goal in [*learner_goals(learner, ()), *taught]}
    goals = [(skill_of.get(goal.casefold(), goal), goal) for goal in neglected_goals]
    return teaching_agenda(teacher, learner, goals or learner_goals(learner, taught), 0)
