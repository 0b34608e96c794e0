"""CPU accounting from /proc, to tell a clean run from one that shared the cores with other work.

The figures only mean something on an otherwise idle machine (the anchors in the notes were taken at >= 97%
idle), and a developer's test run next door can halve them. So the harness measures how idle the machine
is before a run, and how much CPU processes other than the server and the load generator took during it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of all cores since boot.

    Busy is user + nice + system + steal time: it leaves out interrupt time, which is mostly the kernel
    carrying the benchmark's own loopback traffic and is not charged to any process.
    """
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    )  # guest time, after these, is already counted in user time
    busy = user + nice + system + steal
    return busy, busy + idle + iowait + irq + softirq


def idle_percent(seconds: float = 1.0) -> float:
    """How idle all cores were over the next `seconds`."""
    busy_before, total_before = machine_ticks()
    time.sleep(seconds)
    busy_after, total_after = machine_ticks()
    return round(100 - 100 * (busy_after - busy_before) / max(1, total_after - total_before), 1)


def process_ticks(process_group: int, pids: set[int], title: str | None) -> int:
    """CPU ticks used so far by the processes of `process_group`, by `pids`, and by those whose command line
    contains `title` (PostgreSQL names the database in each backend's title)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ours = title is not None and title.encode() in (entry / "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (command)", which may contain spaces
        group, user, system = int(fields[2]), int(fields[11]), int(fields[12])
        if ours or group == process_group or int(entry.name) in pids:
            ticks += user + system
    return ticks


class OtherWork:
    """Measures, between start() and stop(), the cores used by everything except the given processes."""

    def __init__(self, process_group: int, pids: set[int], title: str | None):
        self.process_group = process_group
        self.pids = pids
        self.title = title

    def start(self) -> None:
        self.started = time.monotonic()
        self.machine_before = machine_ticks()[0]
        self.ours_before = process_ticks(self.process_group, self.pids, self.title)

    def stop(self) -> float:
        """Cores used by other processes over the interval (0.0 on a quiet machine)."""
        machine = machine_ticks()[0] - self.machine_before
        ours = process_ticks(self.process_group, self.pids, self.title) - self.ours_before
        seconds = time.monotonic() - self.started
        return round(max(0, machine - ours) / TICKS_PER_SECOND / seconds, 2)
