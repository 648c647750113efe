"""Where the CPU goes: the CPU seconds of every process of the embedded stack (its children included, from
/proc) over one offered-rate level, per email delivered, beside the benchmark's own process.

    python -m benchmarks.pipeline.cpu_split --rate 50 --duration 20

Linux only. The machine's cores bound the sum: at 2 cores, 2,000 ms of CPU per second is all of it."""

import argparse
import asyncio
import os
import time
from pathlib import Path

from benchmarks.pipeline.run import Config, fresh_stack, measure_level
from reciprocal.embedded import EmbeddedStack

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system time of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def with_children(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return [pid]
    return [pid, *(p for child in children for p in with_children(int(child)))]


def snapshot(stack: EmbeddedStack) -> dict[str, float]:
    found = {name: sum(cpu_seconds(p) for p in with_children(proc.pid)) for name, proc in stack.procs.items()}
    return found | {"benchmark": cpu_seconds(os.getpid())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--duration", type=float, default=20)
    args = parser.parse_args()
    marks: dict[str, tuple[float, dict[str, float]]] = {}
    with fresh_stack() as stack:
        level = asyncio.run(measure_level(
            stack, args.rate, Config(rates=(args.rate,), duration_s=args.duration, import_size=0),
            window=lambda mark: marks.__setitem__(mark, (time.monotonic(), snapshot(stack)))))
    (t0, start), (t1, end) = marks["start"], marks["end"]
    emails, wall = max(level.arrived, 1), t1 - t0
    print(f"{args.rate:g} profiles/s offered for {args.duration:g} s: {level.arrived} emails, p50 {level.p50_s:.2f} s, "
          f"{level.completed_per_s:.1f} completed/s, {wall:.1f} s measured")
    print("| process | CPU s | ms per email | share of one core |\n|---|---|---|---|")
    spent = {name: end[name] - start.get(name, 0.0) for name in end}
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"| {name} | {seconds:.2f} | {1000 * seconds / emails:.2f} | {100 * seconds / wall:.1f}% |")
    total = sum(spent.values())
    print(f"| total | {total:.2f} | {1000 * total / emails:.2f} | {100 * total / wall:.0f}% |")


if __name__ == "__main__":
    main()
