"""Vectorised availability overlap between distinct availability signatures.

A signature is (timezone, windows). Each one is laid onto the program timeline (see
`availability.intervals`) as a bitmap at a resolution g that divides every interval end point,
the session length and the week, so bitmaps are exact. A session of L minutes fits in week w iff
some slot starting in week w begins a run of L free minutes in both bitmaps; with E = "a run of
L starts here" (an erosion, which distributes over AND), that is a dot product E_a . E_b > 0 per
week. The worst-week total is the minimum over weeks of A_w . B_w. Both match
`availability.overlap_of` exactly.
"""

from datetime import datetime
from math import gcd

import numpy as np

from services.matcher.domain.availability import WEEK, Intervals, Windows, intervals

Signature = tuple[str, Windows]


class SlotTable:
    def __init__(self, start: datetime, weeks: int, session_minutes: int) -> None:
        self.start, self.weeks, self.session = start, weeks, session_minutes
        self.ids: dict[Signature, int] = {}
        self.intervals: list[Intervals] = []
        self.resolution = gcd(session_minutes, WEEK)
        self._free: np.ndarray | None = None  # (S, weeks, slots/week) uint8: minute block free
        self._runs: np.ndarray | None = None  # (S, weeks, slots/week) uint8: a session can start here
        self._rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.intervals)

    def add(self, timezone: str, windows: Windows) -> int:
        key = (timezone, windows)
        sid = self.ids.get(key)
        if sid is None:
            sid = self.ids[key] = len(self.intervals)
            ivs = intervals(timezone, windows, self.start, self.weeks)
            self.intervals.append(ivs)
            g = self.resolution
            for s, t in ivs:
                g = gcd(gcd(g, s), t)
            if g != self.resolution:
                self.resolution = g
                self._free = self._runs = None
            else:
                self._append_bitmaps([ivs])
            self._rows.clear()
        return sid

    def _bitmaps(self, rows: list[Intervals]) -> tuple[np.ndarray, np.ndarray]:
        g = self.resolution
        per_week = WEEK // g
        total = self.weeks * per_week
        need = self.session // g
        free = np.zeros((len(rows), total + 1), dtype=np.int32)
        for r, ivs in enumerate(rows):
            for s, t in ivs:
                free[r, s // g] += 1
                free[r, t // g] -= 1
        free = np.cumsum(free[:, :total], axis=1, dtype=np.int32) > 0
        # runs[x] = free[x .. x+need-1] all set, via prefix sums of free
        csum = np.zeros((len(rows), total + 1), dtype=np.int32)
        np.cumsum(free, axis=1, out=csum[:, 1:])
        runs = np.zeros_like(free)
        if need <= total:
            runs[:, : total - need + 1] = (csum[:, need:] - csum[:, : total - need + 1]) == need
        shape = (len(rows), self.weeks, per_week)
        return free.reshape(shape).astype(np.uint8), runs.reshape(shape).astype(np.uint8)

    def _append_bitmaps(self, rows: list[Intervals]) -> None:
        if self._free is None:
            return
        free, runs = self._bitmaps(rows)
        self._free = np.concatenate([self._free, free])
        self._runs = np.concatenate([self._runs, runs])

    def _ensure(self) -> tuple[np.ndarray, np.ndarray]:
        if self._free is None or len(self._free) != len(self.intervals):
            self._free, self._runs = self._bitmaps(self.intervals)
        return self._free, self._runs

    def row(self, sid: int) -> tuple[np.ndarray, np.ndarray]:
        """(slot_ok, weekly_minutes) of signature `sid` against every signature, cached."""
        cached = self._rows.get(sid)
        if cached is None:
            free, runs = self._ensure()
            fits = np.ones(len(free), dtype=bool)
            weekly = np.full(len(free), np.iinfo(np.int64).max, dtype=np.int64)
            for w in range(self.weeks):
                fits &= (runs[:, w, :].astype(np.float32) @ runs[sid, w, :].astype(np.float32)) > 0
                shared = free[:, w, :].astype(np.float32) @ free[sid, w, :].astype(np.float32)
                np.minimum(weekly, np.rint(shared).astype(np.int64) * self.resolution, out=weekly)
            cached = self._rows[sid] = (fits, weekly)
        return cached

    def matrix(self, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """(slot_ok, weekly_minutes), both S x S, for every pair of signatures."""
        free, runs = self._ensure()
        n = len(free)
        fits = np.ones((n, n), dtype=bool)
        weekly = np.full((n, n), np.iinfo(np.int64).max, dtype=np.int64)
        for w in range(self.weeks):
            rw = runs[:, w, :].astype(np.float32)
            fw = free[:, w, :].astype(np.float32)
            for lo in range(0, n, block):
                hi = min(lo + block, n)
                fits[lo:hi] &= (rw[lo:hi] @ rw.T) > 0
                np.minimum(weekly[lo:hi], np.rint(fw[lo:hi] @ fw.T).astype(np.int64) * self.resolution,
                           out=weekly[lo:hi])
        return fits, weekly
