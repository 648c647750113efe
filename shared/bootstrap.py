"""How every service is composed (cosmicpython's bootstrap). A service declares its event handlers as a
table, and its jobs, routes and readiness checks as plain functions. Each function names what it
needs as parameters; the runtime binds every parameter to the field of the same name on the
service's one dependencies object, built once per process. A parameter annotated with the
dependencies' own class receives the whole object. A handler whose first parameter is a list
consumes its topic in batches."""

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from shared.contract import Event
from shared.messaging import AnyHandler, Batched


class MissingDependency(TypeError):
    """A function asks for a parameter the service's dependencies do not provide: found at start-up."""


def provided(dependencies: object) -> dict[str, Any]:
    """The dependencies by name: the fields of a dataclass instance."""
    if not dataclasses.is_dataclass(dependencies) or isinstance(dependencies, type):
        raise TypeError(f"dependencies must be a dataclass instance, not {type(dependencies).__name__}")
    return {f.name: getattr(dependencies, f.name) for f in dataclasses.fields(dependencies)}


def bind(function: Callable[..., Any], dependencies: object, *, leading: int = 0) -> Callable[..., Any]:
    """`function` with every parameter after the first `leading` bound from `dependencies`. A parameter
    that is not provided keeps its default; one without a default is a `MissingDependency`."""
    available = provided(dependencies)
    hints = typing.get_type_hints(function)
    bound: dict[str, Any] = {}
    for param in list(inspect.signature(function).parameters.values())[leading:]:
        if hints.get(param.name) is type(dependencies):
            bound[param.name] = dependencies
        elif param.name in available:
            bound[param.name] = available[param.name]
        elif param.default is inspect.Parameter.empty:
            raise MissingDependency(
                f"{function.__module__}.{function.__qualname__} needs `{param.name}`, "
                f"which {type(dependencies).__name__} does not provide"
            )
    return functools.update_wrapper(functools.partial(function, **bound), function)


def consumes_batches(handler: Callable[..., Any]) -> bool:
    first = next(iter(inspect.signature(handler).parameters))
    return typing.get_origin(typing.get_type_hints(handler).get(first)) is list


def bind_handlers(
    table: Mapping[type[Event], Callable[..., Any]], dependencies: object
) -> dict[type[Event], AnyHandler]:
    """The service's handler table, ready for the event router: the event (or the batch) is the first
    argument, the rest are bound."""
    bound: dict[type[Event], AnyHandler] = {}
    for model, handler in table.items():
        handle = bind(handler, dependencies, leading=1)
        bound[model] = Batched(handle) if consumes_batches(handler) else handle
    return bound
