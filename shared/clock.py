"""The one source of "now" for every service.

At speed 1 it is the wall clock. The embedded mode can run time faster so that a 12-week program
plays out in minutes: `now = epoch + (real_now - epoch) * speed`, where `epoch` is the moment the
stack started. Every process given the same epoch and speed computes the same time.
Production always runs at speed 1: `configured_clock` refuses any other speed outside the embedded mode.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


def wall_time() -> datetime:
    return datetime.now(UTC)


Now = Callable[[], datetime]
"""A service's clock as handlers take it (`Clock.now`): virtual time when the embedded stack runs accelerated."""


class ClockRefused(ValueError):
    """The clock settings cannot be used: an accelerated clock outside the embedded mode, or without an epoch."""


@dataclass(frozen=True)
class Clock:
    epoch: datetime | None = None
    """Where virtual and real time coincide; needed for any speed but 1."""
    speed: float = 1.0
    """Virtual seconds per real second."""
    wall: Callable[[], datetime] = wall_time
    """The real clock (injectable for tests)."""

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ClockRefused(f"the clock speed must be above 0, not {self.speed}")
        if self.epoch is not None and self.epoch.tzinfo is None:
            raise ClockRefused("the clock epoch must carry a time zone (RFC 3339, e.g. 2027-01-04T09:00:00Z)")
        if self.speed != 1 and self.epoch is None:
            raise ClockRefused(f"a clock at speed {self.speed:g} needs an epoch (RECIPROCAL_CLOCK_EPOCH), so that "
                               "every service computes the same time")

    @property
    def accelerated(self) -> bool:
        return self.speed != 1

    def now(self) -> datetime:
        """The current (virtual) time, aware UTC."""
        real = self.wall().astimezone(UTC)
        if self.epoch is None or not self.accelerated:
            return real
        return (self.epoch + (real - self.epoch) * self.speed).astimezone(UTC)

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long to really wait for `virtual_seconds` to pass (never negative)."""
        return max(0.0, virtual_seconds) / self.speed

    def real_seconds_until(self, moment: datetime) -> float:
        """How long to really wait until the clock shows `moment` (0 when it already has)."""
        return self.real_seconds((moment - self.now()).total_seconds())


def configured_clock(speed: float, epoch: datetime | None, *, embedded: bool) -> Clock:
    """The clock a service runs on. A speed other than 1 is for the embedded mode only."""
    if speed != 1 and not embedded:
        raise ClockRefused(
            f"RECIPROCAL_CLOCK_SPEED={speed:g} is refused: production runs at speed 1. An accelerated clock is for "
            "the embedded mode only (`reciprocal up --clock-speed N` sets RECIPROCAL_EMBEDDED=1)."
        )
    return Clock(epoch=epoch, speed=speed)


_service_clock = Clock()


def use_service_clock(clock: Clock) -> None:
    """Make `clock` the process's clock: events a service creates are stamped from it
    (`occurred_at`), so on an accelerated clock their times agree with the schedule's."""
    global _service_clock
    _service_clock = clock


def service_now() -> datetime:
    """The time on the process's service clock (the wall clock unless a service set another)."""
    return _service_clock.now()
