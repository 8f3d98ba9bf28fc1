"""Process placement and measurement helpers (Linux; degrade to no-ops elsewhere).

Layer: stdlib only, imported by the server, the workers and the harness.
"""

from __future__ import annotations

import contextlib
import os


def available_cpus() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def cpu_layout() -> tuple[int | None, int | None]:
    """(server core, client core): the first two cores we may use, or no pinning with one."""
    cpus = available_cpus()
    if len(cpus) < 2 or not hasattr(os, "sched_setaffinity"):
        return None, None
    return cpus[0], cpus[1]


def pin_to_cpu(cpu: int | None) -> None:
    """Pin this process to one core; a no-op when not given or not available."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    # No check against our current affinity: a child inherits its parent's (the harness
    # pins itself to the client core before it starts the server), and the server must
    # still be able to move to its own core.
    with contextlib.suppress(OSError):  # not a core we may use (cpuset): stay put
        os.sched_setaffinity(0, {cpu})


def rss_mib() -> float:
    """Resident set size of this process now, in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
