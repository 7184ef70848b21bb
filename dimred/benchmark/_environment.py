"""Where a result was measured: versions, hardware, threads, process identity."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import sklearn
import torch

import dimred
from dimred.schema import Tag


@cache
def environment_tags() -> dict[str, str]:
    """Tags that make a run's figures interpretable and reproducible."""
    tags = {
        Tag.VERSION: dimred.__version__,
        Tag.TORCH_VERSION: torch.__version__,
        Tag.SKLEARN_VERSION: sklearn.__version__,
        Tag.NUMPY_VERSION: np.__version__,
        Tag.PYTHON_VERSION: platform.python_version(),
        Tag.CPU: cpu_name(),
        Tag.CPU_COUNT: str(os.cpu_count()),
        Tag.THREADS: str(torch.get_num_threads()),
        Tag.GPU: torch.cuda.get_device_name() if torch.cuda.is_available() else "none",
        Tag.HOST: socket.gethostname(),
    }
    commit = git_commit()
    if commit:
        tags[Tag.GIT_COMMIT] = commit
    return tags


def process_tags() -> dict[str, str]:
    """Identify this process, so that a later run can tell whether it is still alive."""
    return {
        Tag.HOST: socket.gethostname(),
        Tag.PID: str(os.getpid()),
        Tag.PROCESS_START: process_start(os.getpid()) or "",
    }


def process_alive(host: str | None, pid: str | None, started: str | None) -> bool | None:
    """Whether the process that wrote these tags still runs; None when this host cannot
    tell (another host, or no pid recorded)."""
    if host != socket.gethostname() or not pid:
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _proc_stat(int(pid))
    if fields is None:
        return True  # no /proc: the pid exists, trust it
    # A zombie has exited (its parent has not reaped it yet); a recycled pid belongs to a
    # process with another start time.
    return fields[0] != "Z" and (not started or fields[19] == started)


def process_start(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), as a string."""
    fields = _proc_stat(pid)
    return None if fields is None else fields[19]


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3 onwards of /proc/PID/stat (state, ppid, ...), or None without /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return stat.rsplit(")", 1)[1].split()


@cache
def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@cache
def git_commit() -> str | None:
    """The commit of the dimred source tree (with ``-dirty`` if modified), if it is one."""
    source = Path(dimred.__file__).parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=source, capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty.strip() else "")
