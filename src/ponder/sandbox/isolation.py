"""The bubblewrap command line that isolates a run, and the probe that proves it works here.

What a run gets (all of it, or the sandbox refuses to run):
- new network, PID, IPC, UTS and cgroup namespaces (`--unshare-*`): no network at all, the host's
  loopback included; its own process tree, so whatever it starts dies with it (`--die-with-parent`,
  and the kernel kills a PID namespace's processes when its first process exits);
- a fresh root of its own holding only what the interpreter needs, read-only: the interpreter's
  prefix and the system's shared libraries (`/usr/lib`, `/usr/lib64`); no `/etc`, no home, no
  project files; its own working directory (`/sandbox`), the only writable place;
- no environment of the parent (`--clearenv`);
- a new session (`--new-session`: no access to the controlling terminal);
- an unprivileged user: the runner drops from root to a dedicated uid before any model code runs,
  so the process-count limit applies (root ignores RLIMIT_NPROC) and every capability is gone.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ponder.errors import PonderError

WORKDIR = "/sandbox"


def interpreter() -> tuple[str, list[Path]]:
    """The real Python binary (not a venv's link) and the host paths it needs, read-only."""
    binary = os.path.realpath(sys.executable)
    prefix = Path(sys.base_prefix).resolve()
    needs = [Path("/usr/lib"), Path("/usr/lib64")]
    if prefix == Path("/usr"):
        needs.append(Path(binary))  # a system Python: its stdlib is under /usr/lib already
    else:
        needs.append(prefix)
    return binary, [p for p in needs if p.exists()]


def bwrap_argv(workdir: Path) -> list[str]:
    """bwrap's arguments up to (not including) the command."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise PonderError("bubblewrap is not installed: run `apt-get install bubblewrap` (make test does)")
    _, needs = interpreter()
    argv = [
        bwrap,
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", WORKDIR,
        "--setenv", "TMPDIR", WORKDIR,
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--setenv", "PYTHONHASHSEED", "0",
        "--proc", "/proc",
        "--dev", "/dev",
        "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64",
    ]  # fmt: skip
    made: set[Path] = set()
    for path in needs:
        # bwrap makes missing parents 0700: make them 0755 so the dropped user can walk through
        for parent in reversed(path.parents):
            if parent != Path("/") and parent not in made:
                argv += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        argv += ["--ro-bind", str(path), str(path)]
    argv += ["--bind", str(workdir), WORKDIR, "--chdir", WORKDIR]
    return argv


@functools.cache
def ensure_isolation() -> None:
    """Refuse, naming what is missing, where this machine cannot give every isolation."""
    if os.geteuid() != 0:
        raise PonderError(
            "the sandbox needs root, to run model code as a separate unprivileged user "
            "(the only way the process limit holds): run ponder as root or in a container"
        )
    import tempfile

    probe = (
        "import os, socket\n"
        "os.setgroups([]); os.setgid(65533); os.setuid(65533)\n"
        "s = socket.socket()\n"
        "try:\n"
        "    s.connect(('127.0.0.1', 9)); print('net-open')\n"
        "except OSError:\n"
        "    print('net-closed')\n"
        "print('pid', os.getpid(), 'uid', os.getuid(), 'env', len(os.environ))\n"
    )
    with tempfile.TemporaryDirectory(prefix="ponder-probe-") as tmp:
        binary, _ = interpreter()
        argv = [*bwrap_argv(Path(tmp)), binary, "-I", "-c", probe]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no message"])[0]
        raise PonderError(f"the sandbox cannot isolate code on this machine ({first}): it refuses to run")
    out = proc.stdout.split()
    missing = []
    if "net-closed" not in out:
        missing.append("network namespace")
    if "pid" in out and int(out[out.index("pid") + 1]) > 10:
        missing.append("process namespace")
    if "uid" in out and out[out.index("uid") + 1] != "65533":
        missing.append("unprivileged user")
    if missing:
        raise PonderError(f"the sandbox cannot give {', '.join(missing)} here: it refuses to run")
