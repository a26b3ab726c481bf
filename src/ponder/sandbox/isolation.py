"""The bubblewrap command line that isolates a run, and the probe that proves it works here.

What a run gets (all of it, or the sandbox refuses to run):
- new network, PID, IPC, UTS and cgroup namespaces (`--unshare-*`): no network at all, the host's
  loopback included; its own process tree, so whatever it starts dies with it (`--die-with-parent`,
  and the kernel kills a PID namespace's processes when its first process exits);
- a fresh root of its own holding only what the interpreter needs, read-only: the interpreter's
  prefix and the system's shared libraries (`/usr/lib`, `/usr/lib64`); no `/etc`, no home, no
  project files; its own working directory (`/sandbox`), the only writable place;
- no environment of the parent (`--clearenv`), and an interpreter in isolated mode without `site`
  (`PYTHON_FLAGS`): no host site-packages or `.pth` start-up code, the standard library only;
- a new session (`--new-session`: no access to the controlling terminal);
- an unprivileged user, one of two ways:
  - as root ("privileged"): the runner drops from root to a dedicated uid before any model code runs,
    so the process-count limit applies (root ignores RLIMIT_NPROC) and every capability is gone;
  - as anyone else ("unprivileged"): a new user namespace (`--unshare-user`) where the code runs as
    uid/gid 65534 (nobody), mapped to the caller's own uid outside, with no capabilities and no
    further user namespaces (`--disable-userns`). The process limit is RLIMIT_NPROC set from the
    caller's current count plus the run's allowance (see `run.py`). The interpreter is the system's
    `/usr/bin/python3` where there is one: the runner needs only the standard library.
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
INSIDE_ID = 65534  # nobody: the uid and gid of the code inside an unprivileged run
SYSTEM_PYTHON = Path("/usr/bin/python3")
# How the interpreter starts inside: isolated mode (no environment variables, no user site, no
# script directory on the path) and no `site` import. Without `site`, the host's site-packages and
# the `.pth` files in them (code that runs at every interpreter start) stay out of a run, which gets
# the standard library only; and the import is most of an interpreter's start (benchmarks.md).
PYTHON_FLAGS = ("-I", "-S")


def privileged(as_user: int | None = None) -> bool:
    """Whether bwrap runs as root (the dropped-uid path). `as_user` starts it as that uid instead."""
    return os.geteuid() == 0 and as_user is None


def interpreter(privileged: bool = True) -> tuple[str, list[Path]]:
    """The real Python binary (not a venv's link) and the host paths it needs, read-only.

    Unprivileged, the system's python3: a virtual environment under a private home (root's, say)
    cannot be read by another uid, and the runner and model code need only the standard library."""
    if not privileged and SYSTEM_PYTHON.exists():
        binary, prefix = os.path.realpath(SYSTEM_PYTHON), Path("/usr")
    else:
        binary, prefix = os.path.realpath(sys.executable), Path(sys.base_prefix).resolve()
    needs = [Path("/usr/lib"), Path("/usr/lib64")]
    if prefix == Path("/usr"):
        needs.append(Path(binary))  # a system Python: its stdlib is under /usr/lib already
    else:
        needs.append(prefix)
    return binary, [p for p in needs if p.exists()]


def _bwrap() -> str:
    bwrap = shutil.which("bwrap")
    if bwrap is None and not sys.platform.startswith("linux"):
        raise PonderError(
            f"the sandbox needs Linux with bubblewrap (this is {sys.platform}): "
            "run ponder on Linux, or in a Linux container or VM"
        )
    if bwrap is None:
        install = "apt-get install bubblewrap" if os.geteuid() == 0 else "sudo apt-get install bubblewrap"
        raise PonderError(
            f"bubblewrap is not installed; the sandbox needs Linux with bubblewrap: run `{install}`"
        )
    return bwrap


def bwrap_argv(workdir: Path, privileged: bool = True) -> list[str]:
    """bwrap's arguments up to (not including) the command."""
    _, needs = interpreter(privileged)
    user = [] if privileged else [
        "--unshare-user", "--uid", str(INSIDE_ID), "--gid", str(INSIDE_ID), "--disable-userns",
    ]  # fmt: skip
    argv = [
        _bwrap(),
        *user,
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
    # In a user namespace the fresh root and /dev are the sandbox user's own tmpfs: make them
    # read-only, as they are to the dropped uid on the root path (no files kept in memory).
    argv += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return argv


def as_user_argv(uid: int) -> list[str]:
    """Start the next command with only `uid`'s credentials (root only: the tests' unprivileged path)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PonderError("setpriv (util-linux) is not installed: it starts the sandbox as another user")
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", name).read_text().strip()
    except OSError:
        return None


def userns_blocker() -> str | None:
    """What keeps an ordinary user from making user namespaces here, with what to change, or None."""
    if _sysctl("kernel/unprivileged_userns_clone") == "0":
        return "set `sysctl -w kernel.unprivileged_userns_clone=1`"
    if _sysctl("user/max_user_namespaces") == "0":
        return "set `sysctl -w user.max_user_namespaces=10000`"
    if _sysctl("kernel/apparmor_restrict_unprivileged_userns") == "1":
        return (
            "AppArmor restricts them: set `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` "
            "or give bwrap an AppArmor profile that allows userns"
        )
    return None


def _probe(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


@functools.cache
def ensure_isolation(as_user: int | None = None) -> None:
    """Refuse, naming what is missing, where this machine cannot give every isolation.

    `as_user` (root only) probes the unprivileged path started as that uid, as `run_code` does."""
    import tempfile

    root = privileged(as_user)
    blocker = None if root else userns_blocker()
    if blocker and "AppArmor" not in blocker:
        # a sysctl that forbids them outright: no probe can pass (AppArmor may still allow bwrap)
        raise PonderError(f"the sandbox needs unprivileged user namespaces, disabled here: {blocker}")
    drop = "os.setgroups([]); os.setgid(65533); os.setuid(65533)\n" if root else ""
    expect = "65533" if root else str(INSIDE_ID)
    probe = (
        "import os, socket\n"
        f"{drop}"
        "s = socket.socket()\n"
        "try:\n"
        "    s.connect(('127.0.0.1', 9)); print('net-open')\n"
        "except OSError:\n"
        "    print('net-closed')\n"
        "caps = open('/proc/self/status').read().split('CapEff:')[1].split()[0]\n"
        "print('pid', os.getpid(), 'uid', os.getuid(), 'caps', int(caps, 16), 'env', len(os.environ))\n"
    )
    with tempfile.TemporaryDirectory(prefix="ponder-probe-") as tmp:
        if as_user is not None:
            os.chown(tmp, as_user, as_user)
        binary, _ = interpreter(root)
        argv = [*bwrap_argv(Path(tmp), root), binary, *PYTHON_FLAGS, "-c", probe]
        if as_user is not None:
            argv = [*as_user_argv(as_user), *argv]
        proc = _probe(argv)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no message"])[0]
        if blocker:
            raise PonderError(f"the sandbox cannot make a user namespace ({first}): {blocker}")
        raise PonderError(f"the sandbox cannot isolate code on this machine ({first}): it refuses to run")
    out = proc.stdout.split()
    missing = []
    if "net-closed" not in out:
        missing.append("network namespace")
    if "pid" not in out or int(out[out.index("pid") + 1]) > 10:
        missing.append("process namespace")
    if "uid" not in out or out[out.index("uid") + 1] != expect:
        missing.append("unprivileged user")
    if "caps" not in out or out[out.index("caps") + 1] != "0":
        missing.append("no capabilities")
    if missing:
        raise PonderError(f"the sandbox cannot give {', '.join(missing)} here: it refuses to run")
