"""The injected clock: wall time at speed 1, one shared virtual time when accelerated, and never
accelerated outside the embedded mode."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.clock import Clock, ClockRefused, configured_clock
from shared.runtime import build_context
from shared.settings import ServiceSettings

EPOCH = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


class FakeWall:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_at_speed_one_the_clock_is_the_wall_clock():
    before = datetime.now(UTC)
    now = Clock().now()
    after = datetime.now(UTC)
    assert before <= now <= after and now.tzinfo is not None and now.utcoffset() == timedelta(0)
    wall = FakeWall(EPOCH + timedelta(days=3, microseconds=7))
    assert Clock(epoch=EPOCH, speed=1, wall=wall).now() == wall.at


def test_an_accelerated_clock_runs_speed_times_faster_from_its_epoch():
    wall = FakeWall(EPOCH)
    clock = Clock(epoch=EPOCH, speed=3600, wall=wall)
    assert clock.now() == EPOCH
    wall.at = EPOCH + timedelta(seconds=2)
    assert clock.now() == EPOCH + timedelta(hours=2)
    wall.at = EPOCH + timedelta(seconds=2.5)
    assert clock.now() == EPOCH + timedelta(hours=2, minutes=30)


def test_two_clocks_with_the_same_epoch_and_speed_agree():
    """Two services, two processes: the same settings give the same time, on the wall clock too."""
    epoch = datetime.now(UTC) - timedelta(seconds=30)
    first, second = (configured_clock(720, epoch, embedded=True) for _ in range(2))
    a, b = first.now(), second.now()
    # Read a moment apart in real time: they differ by at most that moment times the speed.
    assert abs((b - a).total_seconds()) < 720 * 0.5
    wall = FakeWall(epoch + timedelta(minutes=5))
    one, other = Clock(epoch, 720, wall), Clock(epoch.astimezone(timezone(timedelta(hours=-5))), 720, wall)
    assert one.now() == other.now() == epoch + timedelta(hours=60)


def test_waits_are_virtual_seconds_divided_by_the_speed():
    wall = FakeWall(EPOCH)
    clock = Clock(epoch=EPOCH, speed=3600, wall=wall)
    assert clock.real_seconds(7200) == 2.0
    assert clock.real_seconds(-5) == 0.0
    assert clock.real_seconds_until(EPOCH + timedelta(hours=1)) == 1.0
    assert clock.real_seconds_until(EPOCH - timedelta(hours=1)) == 0.0
    assert Clock().real_seconds(5) == 5.0


def test_production_refuses_an_accelerated_clock():
    with pytest.raises(ClockRefused, match="production runs at speed 1"):
        configured_clock(60, EPOCH, embedded=False)
    assert configured_clock(1, None, embedded=False).now() <= datetime.now(UTC)


def test_an_accelerated_clock_needs_an_aware_epoch_and_a_positive_speed():
    with pytest.raises(ClockRefused, match="needs an epoch"):
        configured_clock(60, None, embedded=True)
    with pytest.raises(ClockRefused, match="time zone"):
        Clock(epoch=datetime(2027, 1, 4), speed=60)
    with pytest.raises(ClockRefused, match="above 0"):
        Clock(epoch=EPOCH, speed=0)


def test_the_settings_read_the_clock_from_the_environment(monkeypatch):
    monkeypatch.setenv("RECIPROCAL_CLOCK_SPEED", "3600")
    monkeypatch.setenv("RECIPROCAL_CLOCK_EPOCH", "2027-01-04T09:00:00Z")
    monkeypatch.setenv("RECIPROCAL_EMBEDDED", "1")
    settings = ServiceSettings(service="test")
    assert (settings.clock_speed, settings.clock_epoch, settings.embedded) == (3600, EPOCH, True)
    assert ServiceSettings.model_fields["clock_speed"].default == 1


def test_a_service_refuses_to_start_with_an_accelerated_clock_outside_the_embedded_mode(monkeypatch):
    from services.scheduler.app import SPEC

    monkeypatch.setenv("RECIPROCAL_CLOCK_SPEED", "60")
    monkeypatch.setenv("RECIPROCAL_CLOCK_EPOCH", "2027-01-04T09:00:00Z")
    with pytest.raises(ClockRefused, match="production runs at speed 1"):
        build_context(SPEC, SPEC.settings_cls(service=SPEC.name))
    monkeypatch.setenv("RECIPROCAL_EMBEDDED", "1")
    ctx, _ = build_context(SPEC, SPEC.settings_cls(service=SPEC.name))
    assert ctx.clock.speed == 60 and ctx.clock.epoch == EPOCH


def test_the_service_command_refuses_an_accelerated_clock_with_a_clear_error(monkeypatch):
    from typer.testing import CliRunner

    from reciprocal.cli import app

    monkeypatch.setenv("RECIPROCAL_CLOCK_SPEED", "60")
    monkeypatch.setenv("RECIPROCAL_CLOCK_EPOCH", "2027-01-04T09:00:00Z")
    monkeypatch.delenv("RECIPROCAL_EMBEDDED", raising=False)
    # The command would point the process's logging at CliRunner's stdout, closed once it returns: every
    # later test in this process that logs would then fail on the closed file.
    monkeypatch.setattr("shared.runtime.configure_logging", lambda *args, **kwargs: None)
    result = CliRunner().invoke(app, ["service", "scheduler"])
    assert result.exit_code == 2 and "production runs at speed 1" in result.output


def test_the_embedded_stack_gives_every_service_its_clock_and_records_it(tmp_path):
    from reciprocal.embedded import SERVICES, EmbeddedStack

    stack = EmbeddedStack(workdir=tmp_path, clock_speed=3600, clock_epoch=EPOCH,
                          http_ports={name: 1 for name in SERVICES})
    for name in SERVICES:
        env = stack.service_env(name)
        assert float(env["RECIPROCAL_CLOCK_SPEED"]) == 3600 and env["RECIPROCAL_EMBEDDED"] == "1"
        assert datetime.fromisoformat(env["RECIPROCAL_CLOCK_EPOCH"]) == EPOCH
    assert stack.state()["clock_speed"] == 3600 and stack.state()["clock_epoch"] == EPOCH.isoformat()
    assert stack.clock.speed == 3600 and stack.clock.epoch == EPOCH
    with pytest.raises(ClockRefused):
        _ = EmbeddedStack(workdir=tmp_path, clock_speed=0).clock
