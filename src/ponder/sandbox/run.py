"""Run a program and its tests in one namespace, isolated, with a wall-clock timeout.

1. Write `program.py` and `tests.py` into a fresh working directory owned by a fresh uid (as root),
   or by the caller (unprivileged).
2. Start bwrap with limits set on it (CPU, address space, file size, processes, no core dumps). As
   root, the runner drops to that uid before reading a line of model code. Unprivileged, bwrap puts it
   in a user namespace as nobody (see `isolation.py`). The limits are set by a short command that
   then execs bwrap (`prlimit`, else the interpreter), never by a `preexec_fn`: that would make
   Python fork the whole caller, a process that may hold a loaded model (tens of milliseconds per GB
   of its memory, per run), where without it Python spawns by vfork; and a `preexec_fn` is unsafe in
   a process with threads (`pot@N` runs its programs from worker threads).
3. The runner executes the program, then the tests, in one namespace (the tests see the program's
   definitions, as HumanEval's `check` does) and reports by exit code.
4. Past the timeout, the whole process group is killed; the PID namespace takes every descendant,
   daemons included, with it. The working directory is removed.

The process limit. Root ignores RLIMIT_NPROC, so as root the runner drops to a uid of its own and the
limit counts only the run's processes. Unprivileged, RLIMIT_NPROC counts every task (process or
thread) of the caller's real uid across the machine, user namespaces included: the limit is set to
that user's current count, plus bwrap's two processes, plus the run's allowance. Runs that overlap
under one user share that headroom (a fork bomb in one can starve a sibling's forks, never the
machine). A cgroup v2 `pids.max` would be exact; it is not used (it needs a delegated cgroup).

The verdict comes from the runner's exit code, which code in the same process could forge (for
example with `os._exit(0)`): the sandbox contains code, it does not make a dishonest program honest.
"""

from __future__ import annotations

import itertools
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ponder.errors import PonderError
from ponder.sandbox.isolation import (
    PYTHON_FLAGS,
    as_user_argv,
    bwrap_argv,
    ensure_isolation,
    interpreter,
    privileged,
)

Status = Literal["passed", "failed", "timeout", "memory", "error"]
OUTPUT_LIMIT = 64 * 1024  # bytes of stdout and stderr kept
OUTPUT_CUT = "\n… (output cut)"  # ends an output longer than that

# The runner reads both files (as root they are root's, mode 0600) and deletes them before any model
# code runs, and as root drops to the sandbox's uid: the program cannot read or rewrite the hidden
# tests on disk. The marker comment lets the tests find a runner that outlived its run. A failure's
# traceback is printed by the interpreter's own hook, not the `traceback` module, whose imports
# (linecache, tokenize, re) would cost every run more than the interpreter's whole start.
_RUNNER = """# ponder-sandbox runner
import os, sys
sources = [(name, open(name).read()) for name in ("program.py", "tests.py")]
for name, _ in sources:
    os.remove(name)
{drop}
namespace = {{"__name__": "__main__"}}
def run(path, source, code):
    try:
        exec(compile(source, path, "exec"), namespace)
    except MemoryError:
        sys.stderr.write("MemoryError\\n"); sys.stderr.flush(); os._exit(3)
    except BaseException:
        try:
            sys.__excepthook__(*sys.exc_info()); sys.stdout.flush(); sys.stderr.flush()
        finally:
            os._exit(code)
run(*sources[0], 2)
run(*sources[1], 1)
sys.stdout.flush(); sys.stderr.flush(); os._exit(0)
"""
_EXIT = {0: "passed", 1: "failed", 2: "error", 3: "memory"}
_DROP = "os.setgroups([]); os.setgid({uid}); os.setuid({uid})"
_BWRAP_PROCESSES = 2  # unprivileged: bwrap outside, and its init inside the PID namespace
_uids = itertools.count()


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # wall seconds
    memory_mb: int = 1024  # address space
    processes: int = 16  # processes and threads of the sandbox's user
    file_mb: int = 16  # largest file it may write
    open_files: int = 256

    def check(self) -> None:
        if not 0 < self.timeout <= 3600:
            raise PonderError("--timeout must be between 0 and 3600 seconds")
        if self.memory_mb < 64 or self.processes < 1 or self.file_mb < 1:
            raise PonderError("sandbox limits too small: memory ≥ 64 MB, processes ≥ 1, files ≥ 1 MB")


@dataclass(frozen=True)
class SandboxResult:
    status: Status
    stdout: str
    stderr: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _uid() -> int:
    # A uid of its own per run: RLIMIT_NPROC counts a user's processes machine-wide.
    return 200_000 + (os.getpid() % 10_000) * 100 + next(_uids) % 100


def user_tasks(uid: int) -> int:
    """Tasks (processes and threads) whose real uid is `uid`: what RLIMIT_NPROC counts."""
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["Uid"].split()[0]) == uid:
            count += int(fields.get("Threads", "1"))
    return count


def limits_argv(limits: Limits, nproc: int, binary: str) -> list[str]:
    """A command prefix that sets the run's resource limits on itself, then execs the rest of the
    command line (bwrap), whose processes inherit them: util-linux's `prlimit` where there is one,
    else a few lines of the sandbox's interpreter (an interpreter's start slower)."""
    mb = 1024 * 1024
    cpu = int(limits.timeout) + 1
    values = {
        "as": (limits.memory_mb * mb,) * 2,
        "cpu": (cpu, cpu + 1),  # SIGXCPU first, SIGKILL after
        "fsize": (limits.file_mb * mb,) * 2,
        "nproc": (nproc,) * 2,
        "nofile": (limits.open_files,) * 2,
        "core": (0, 0),
    }
    prlimit = shutil.which("prlimit")
    if prlimit is not None:
        return [prlimit, *(f"--{name}={soft}:{hard}" for name, (soft, hard) in values.items()), "--"]
    code = "import os, resource, sys\n"
    for name, pair in values.items():
        code += f"resource.setrlimit(resource.RLIMIT_{name.upper()}, {pair})\n"
    code += "os.execv(sys.argv[1], sys.argv[1:])\n"
    return [binary, *PYTHON_FLAGS, "-c", code]


def _exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for the process to exit, at most `timeout` seconds; whether it did.

    On a pidfd, which wakes the moment the process exits: `Popen.wait(timeout)` polls with sleeps
    that double up to 50 ms, so a run that takes 60 ms would be seen to end up to 30 ms late."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # before Linux 5.3
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        poll = select.poll()
        poll.register(fd, select.POLLIN)
        return bool(poll.poll(timeout * 1000))
    finally:
        os.close(fd)


def _read(path: Path) -> str:
    with path.open("rb") as f:
        data = f.read(OUTPUT_LIMIT + 1)
    text = data[:OUTPUT_LIMIT].decode("utf-8", errors="replace")
    return text + (OUTPUT_CUT if len(data) > OUTPUT_LIMIT else "")


def run_code(
    program: str, tests: str = "", limits: Limits | None = None, *, as_user: int | None = None
) -> SandboxResult:
    """Run `program` then `tests` in one namespace, isolated; never raises for what the code does.

    As root it takes the dropped-uid path; otherwise the unprivileged one (a user namespace).
    `as_user` (root only) starts bwrap with that uid's credentials (through setpriv), on the
    unprivileged path: how the tests prove that path while running as root."""
    limits = limits or Limits()
    limits.check()
    ensure_isolation(as_user)
    root = privileged(as_user)
    uid = _uid() if root else os.getuid() if as_user is None else as_user
    nproc = limits.processes if root else user_tasks(uid) + _BWRAP_PROCESSES + limits.processes
    base = Path(tempfile.mkdtemp(prefix="ponder-sandbox-"))
    try:
        work = base / "work"
        work.mkdir()
        (work / "program.py").write_text(program)
        (work / "tests.py").write_text(tests)
        if root or as_user is not None:
            os.chown(work, uid, uid)
        if as_user is not None:
            os.chown(base, as_user, as_user)  # bwrap, as that user, must reach `work` to bind it
        work.chmod(0o700)
        for name in ("program.py", "tests.py"):
            if as_user is not None:
                os.chown(work / name, as_user, as_user)
            (work / name).chmod(0o600)  # as root, root's: read by the runner before it drops
        binary, _ = interpreter(root)
        runner = _RUNNER.format(drop=_DROP.format(uid=uid) if root else "")
        argv = [*bwrap_argv(work, root), binary, *PYTHON_FLAGS, "-c", runner]
        if as_user is not None:
            argv = [*as_user_argv(as_user), *argv]
        argv = [*limits_argv(limits, nproc, binary), *argv]
        out_path, err_path = base / "stdout", base / "stderr"
        started = time.perf_counter()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = not _exited(proc, limits.timeout)
            if timed_out:
                os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
        seconds = time.perf_counter() - started
        stdout, stderr = _read(out_path), _read(err_path)
        # bwrap passes on a killed child as 128 + the signal.
        signalled = code - 128 if code > 128 else -code if code < 0 else 0
        status: Status
        if timed_out or signalled == signal.SIGXCPU:
            status = "timeout"
        elif code in _EXIT:
            status = _EXIT[code]  # type: ignore[assignment]
        elif "MemoryError" in stderr:
            status = "memory"
        elif signalled == signal.SIGKILL:
            # the kernel's: the CPU limit's hard stop, or the memory killer
            status = "timeout" if seconds >= limits.timeout else "memory"
        else:
            status = "error"  # including a sandbox that failed to start ("bwrap: …" on stderr)
        return SandboxResult(status, stdout, stderr, seconds)
    finally:
        shutil.rmtree(base, ignore_errors=True)
