"""CPU accounting from /proc, to tell a clean run from one that shared the cores with other work.

The figures only mean something on an otherwise idle machine (the anchors in the notes were taken at >= 97%
idle), and a developer's test run next door can halve them. So the harness measures how idle the machine
is before a run, and during it how many cores the server, its database, the load generator and everything
else used: the last should be near zero, and the first says whether the server was short of CPU.
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


def process_ticks(server_group: int, loader: int, database_title: str | None) -> dict[str, int]:
    """CPU ticks used so far by the server (its process group), the load generator, and the database: the
    processes whose command line contains `database_title` (PostgreSQL names the database in each backend's)."""
    ticks = {"server": 0, "loader": 0, "database": 0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (command)", which may contain spaces
        group, used = int(fields[2]), int(fields[11]) + int(fields[12])  # user + system time
        if group == server_group:
            ticks["server"] += used
        elif int(entry.name) == loader:
            ticks["loader"] += used
        elif database_title is not None and database_title.encode() in cmdline:
            ticks["database"] += used
    return ticks


class CpuShares:
    """Cores used between start() and stop() by the server, its database, the load generator, and the rest."""

    def __init__(self, server_group: int, loader: int, database_title: str | None):
        self.processes = (server_group, loader, database_title)

    def start(self) -> None:
        self.started = time.monotonic()
        self.machine_before = machine_ticks()[0]
        self.before = process_ticks(*self.processes)

    def stop(self) -> dict[str, float]:
        """{"server_cpu", "database_cpu", "loader_cpu", "other_cpu"}: cores, on average over the interval."""
        seconds = time.monotonic() - self.started
        machine = machine_ticks()[0] - self.machine_before
        used = {name: ticks - self.before[name] for name, ticks in process_ticks(*self.processes).items()}
        used["other"] = max(0, machine - sum(used.values()))
        return {f"{name}_cpu": round(ticks / TICKS_PER_SECOND / seconds, 2) for name, ticks in used.items()}
