"""Composition: handlers, jobs, routes and checks name their dependencies, and the runtime binds them
by name from the service's one dependencies object."""

from dataclasses import dataclass
from importlib import import_module

import pytest

from shared.bootstrap import MissingDependency, bind, bind_handlers, consumes_batches
from shared.contract import ProfileChanged, ProgramConfigured
from shared.messaging import Batched
from shared.runtime import build_context

SERVICES = ("profiles", "matcher", "scheduler", "notifier", "progress")


@dataclass(frozen=True)
class Deps:
    repo: str
    limit: int


async def one(event: ProgramConfigured, repo: str, limit: int = 1) -> tuple[str, int]:
    return repo, limit


async def many(events: list[ProfileChanged], repo: str) -> str:
    return repo


async def whole(event: ProgramConfigured, deps: Deps) -> Deps:
    return deps


async def needs_more(event: ProgramConfigured, repo: str, mailer: object) -> None: ...


async def test_parameters_are_bound_by_name_and_the_event_stays_first():
    bound = bind(one, Deps("r", 7), leading=1)
    assert await bound("the event") == ("r", 7)
    assert bound.__name__ == "one"


async def test_a_parameter_annotated_with_the_dependencies_class_gets_the_whole_object():
    deps = Deps("r", 7)
    assert await bind(whole, deps, leading=1)("the event") is deps


def test_a_missing_dependency_is_found_when_binding_not_when_an_event_arrives():
    with pytest.raises(MissingDependency, match="needs `mailer`, which Deps does not provide"):
        bind(needs_more, Deps("r", 7), leading=1)


def test_dependencies_must_be_a_dataclass_instance():
    with pytest.raises(TypeError, match="dataclass instance"):
        bind(one, {"repo": "r"}, leading=1)


async def test_a_list_parameter_makes_a_batched_handler():
    table = bind_handlers({ProgramConfigured: one, ProfileChanged: many}, Deps("r", 7))
    assert consumes_batches(many) and not consumes_batches(one)
    assert isinstance(table[ProfileChanged], Batched) and not isinstance(table[ProgramConfigured], Batched)
    assert await table[ProfileChanged].handle([]) == "r"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_binds_its_handlers_jobs_routes_and_checks(service):
    """What the runtime binds at start-up, bound here without a broker or database connection."""
    spec = import_module(f"services.{service}.app").SPEC
    _, deps = build_context(spec, spec.settings_cls(service=spec.name))
    assert set(bind_handlers(spec.handlers, deps)) == set(spec.handlers)
    for function in [*spec.jobs, *spec.readiness.values(), *(f for f in (spec.http, spec.setup, spec.teardown) if f)]:
        bind(function, deps)
