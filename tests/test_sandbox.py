"""Real attacks on the sandbox. Each must be contained, leave the host as it was, and honest code
must still pass."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ponder import PonderError
from ponder.sandbox import Limits, SandboxResult, isolation, run_code

FAST = Limits(timeout=3.0)
THROWAWAY_UID = 2_000_000 + os.getpid() % 1000  # no account: the unprivileged path's user, as root
Sandbox = Callable[..., SandboxResult]


def processes_with(token: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
    return found


def sandbox_processes(workroot: Path) -> list[int]:
    """This test process's sandboxed processes: those running as its uids (the root path's, from
    `run._uid`, and the throwaway user), or, for a caller's own unprivileged runs, its bwrap (whose
    command line names `workroot`) and runners. Other ponder runs on the machine are not counted."""
    first = 200_000 + (os.getpid() % 10_000) * 100
    mine = {*range(first, first + 100), THROWAWAY_UID}
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            uid = int(status.split("Uid:")[1].split()[0])
            own = uid == os.getuid() != 0 and b"# ponder-sandbox runner" in cmdline
            if uid in mine or str(workroot).encode() in cmdline or own:
                found.append(int(pid))
    return found


@pytest.fixture(params=["root", "unprivileged"])
def mode(request: pytest.FixtureRequest) -> str:
    """The sandbox's path: `root` (a dropped uid per run) or `unprivileged` (a user namespace)."""
    if request.param == "root" and os.geteuid() != 0:
        pytest.skip("the root path (a dropped uid per run) needs the suite to run as root")
    if request.param == "unprivileged" and os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to start the unprivileged path from root")
    return str(request.param)


@pytest.fixture()
def sandbox(mode: str) -> Sandbox:
    """`run_code` on `mode`'s path. As root the unprivileged path starts bwrap with a throwaway
    uid's credentials (through setpriv); as anyone else it is the caller's own path."""
    if mode == "root" or os.geteuid() != 0:
        return run_code

    def unprivileged(program: str, tests: str = "", limits: Limits | None = None) -> SandboxResult:
        return run_code(program, tests, limits, as_user=THROWAWAY_UID)

    return unprivileged


@pytest.fixture()
def host_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A host directory for the attacks; afterwards no sandbox process is left and no sandbox
    directory leaked (runs make theirs in a temporary root of this test's own, which the
    throwaway user can walk through)."""
    workroot = Path(tempfile.mkdtemp(prefix="ponder-test-runs-"))
    workroot.chmod(0o711)
    monkeypatch.setattr(tempfile, "tempdir", str(workroot))
    yield tmp_path
    deadline = time.monotonic() + 3  # the kernel tears a PID namespace down asynchronously
    while sandbox_processes(workroot) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sandbox_processes(workroot), "a sandboxed process outlived its run"
    leaked = os.listdir(workroot)
    shutil.rmtree(workroot, ignore_errors=True)
    assert not leaked, leaked


def test_honest_code_passes(sandbox: Sandbox, host_tmp: Path) -> None:
    program = "def add(a, b):\n    return a + b\nprint('hello')\n"
    result = sandbox(program, "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n")
    assert result.status == "passed" and result.stdout == "hello\n"
    assert sandbox(program, "assert add(2, 2) == 5").status == "failed"
    assert sandbox("def add(a, b) return", "").status == "error"
    assert sandbox("raise SystemExit(0)", "").status == "error"  # leaving before the tests is no pass


def test_the_tests_see_the_programs_definitions(sandbox: Sandbox, host_tmp: Path) -> None:
    program = "def candidate(x):\n    return x * 2\n"
    tests = "def check(f):\n    assert f(3) == 6\ncheck(candidate)\n"
    assert sandbox(program, tests).status == "passed"


def test_fork_bomb(sandbox: Sandbox, host_tmp: Path) -> None:
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    started = time.monotonic()
    result = sandbox(bomb, "", FAST)
    assert result.status == "timeout"
    assert time.monotonic() - started < FAST.timeout + 5


def test_the_process_limit_leaves_the_run_its_allowance(mode: str, sandbox: Sandbox, host_tmp: Path) -> None:
    """Unprivileged, RLIMIT_NPROC counts the user's other processes too: with 20 already running, a
    run still gets its 16, and no more."""
    import subprocess

    sleepers = []
    if mode == "unprivileged":
        user = []
        if os.geteuid() == 0:
            user = ["setpriv", f"--reuid={THROWAWAY_UID}", f"--regid={THROWAWAY_UID}", "--clear-groups"]
        sleepers = [subprocess.Popen([*user, "sleep", "30"]) for _ in range(20)]
    forker = """
import os, time
children = 0
for _ in range(40):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    children += 1
print("children", children)
"""
    try:
        result = sandbox(forker, "", FAST)
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
    assert result.status == "passed", result.stderr
    children = int(result.stdout.split()[1])
    assert 12 <= children <= Limits().processes, children


@pytest.mark.parametrize("setter", ["prlimit", "interpreter"])
def test_the_limits_hold_inside_however_they_are_set(
    setter: str, mode: str, sandbox: Sandbox, host_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limits are set by `prlimit`, or where there is none by the interpreter, before bwrap
    starts (never in a fork of the caller): the code inside sees every one, and a fork bomb is held."""
    which = shutil.which
    if setter == "prlimit" and which("prlimit") is None:
        pytest.skip("prlimit (util-linux) is not installed here")
    if setter == "interpreter":
        monkeypatch.setattr(shutil, "which", lambda name: None if name == "prlimit" else which(name))
    limits = Limits(timeout=2.0, memory_mb=300, processes=9, file_mb=3, open_files=50)
    names = ("AS", "CPU", "FSIZE", "NOFILE", "CORE", "NPROC")
    probe = (
        f"import resource\nfor n in {names!r}:\n"
        "    print(n, *resource.getrlimit(getattr(resource, 'RLIMIT_' + n)))\n"
    )
    result = sandbox(probe, "", limits)
    assert result.status == "passed", result.stderr
    seen = {line.split()[0]: tuple(map(int, line.split()[1:])) for line in result.stdout.splitlines()}
    mb = 1024 * 1024
    nproc = seen.pop("NPROC")
    # the dropped uid's own 9; unprivileged, the user's other tasks and bwrap's two besides
    assert (nproc == (9, 9)) if mode == "root" else (nproc[0] == nproc[1] >= 9 + 2)
    assert seen == {
        "AS": (300 * mb, 300 * mb),
        "CPU": (3, 4),  # the timeout's whole seconds + 1, then SIGKILL a second later
        "FSIZE": (3 * mb, 3 * mb),
        "NOFILE": (50, 50),
        "CORE": (0, 0),
    }
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    assert sandbox(bomb, "", limits).status == "timeout"


def test_endless_loop(sandbox: Sandbox, host_tmp: Path) -> None:
    result = sandbox("while True:\n    pass\n", "", Limits(timeout=1.5))
    assert result.status == "timeout" and result.seconds < 4


def test_memory_hog(sandbox: Sandbox, host_tmp: Path) -> None:
    hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(50_000_000))\n"
    assert sandbox(hog, "", Limits(timeout=10, memory_mb=256)).status == "memory"


def test_writing_and_deleting_outside_its_directory(sandbox: Sandbox, host_tmp: Path) -> None:
    canary = host_tmp / "canary.txt"
    canary.write_text("host data")
    attack = f"""
import os, shutil
outcomes = []
for action in (
    lambda: open({str(canary)!r}, "w").write("owned"),
    lambda: os.remove({str(canary)!r}),
    lambda: shutil.rmtree({str(host_tmp)!r}),
    lambda: open("/usr/lib/evil", "w").write("x"),
    lambda: open("/evil", "w").write("x"),
    lambda: os.remove("/usr/lib/os-release"),
):
    try:
        action()
        outcomes.append("done")
    except OSError as e:
        outcomes.append(type(e).__name__)
open("mine.txt", "w").write("its own directory is writable")
print(outcomes)
"""
    result = sandbox(attack, "", FAST)
    assert result.status == "passed", result.stderr
    assert "done" not in result.stdout
    assert canary.read_text() == "host data"
    assert not Path("/usr/lib/evil").exists() and not Path("/evil").exists()
    assert Path("/usr/lib/os-release").exists()


def test_reading_host_files_and_the_parents_secrets(
    sandbox: Sandbox, host_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("PONDER_TEST_SECRET", secret)
    (host_tmp / "secret.txt").write_text(secret)
    targets = (str(host_tmp / "secret.txt"), "/etc/passwd", "/etc/shadow", "/proc/1/environ", str(Path.cwd()))
    spy = f"""
import os
print(dict(os.environ))
print("listing:", " ".join(sorted(os.listdir("/"))))
for path in {targets!r}:
    try:
        print(path, open(path).read()[:100] if not os.path.isdir(path) else os.listdir(path))
    except OSError as e:
        print(path, type(e).__name__)
"""
    result = sandbox(spy, "", FAST)
    assert result.status == "passed", result.stderr
    assert secret not in result.stdout and "PONDER_TEST_SECRET" not in result.stdout
    assert "root:" not in result.stdout  # no /etc/passwd
    listing = result.stdout.split("listing: ")[1].splitlines()[0].split()
    # `root` holds the interpreter where it lives there (ponder's own, on the root path)
    assert (
        {"dev", "lib", "lib64", "proc", "sandbox", "usr"}
        <= set(listing)
        <= {"dev", "lib", "lib64", "proc", "root", "sandbox", "usr"}
    )


def test_no_network_not_even_the_hosts_loopback(sandbox: Sandbox, host_tmp: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(4)
    port = server.getsockname()[1]
    connections: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            connections.append(server.accept())

    listener = threading.Thread(target=accept)
    listener.start()
    probe = f"""
import socket
for host in ("127.0.0.1", "localhost", "8.8.8.8"):
    try:
        socket.create_connection((host, {port}), timeout=1)
        print(host, "connected")
    except OSError as e:
        print(host, type(e).__name__)
"""
    result = sandbox(probe, "", FAST)
    listener.join()
    server.close()
    assert result.status == "passed", result.stderr
    assert "connected" not in result.stdout and connections == []


def test_a_daemon_does_not_outlive_the_run(sandbox: Sandbox, host_tmp: Path) -> None:
    token = f"ponder-daemon-{uuid.uuid4().hex}"
    daemon = f"""
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", {token!r}])
    os._exit(0)
time.sleep(0.5)
print("parent leaves")
"""
    result = sandbox(daemon, "", FAST)
    assert result.status == "passed", result.stderr
    time.sleep(0.5)
    assert processes_with(token) == []


def test_refuses_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)
    isolation.ensure_isolation.cache_clear()
    try:
        with pytest.raises(PonderError, match="bubblewrap is not installed"):
            run_code("print(1)", "")
    finally:
        isolation.ensure_isolation.cache_clear()


def test_says_it_needs_linux_where_there_is_no_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)
    monkeypatch.setattr(isolation.sys, "platform", "darwin")
    isolation.ensure_isolation.cache_clear()
    try:
        with pytest.raises(PonderError, match="needs Linux with bubblewrap") as caught:
            run_code("print(1)", "")
        assert "\n" not in str(caught.value)
    finally:
        isolation.ensure_isolation.cache_clear()


@pytest.mark.parametrize(
    ("sysctl", "value", "fix"),
    [
        ("kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone=1"),
        ("user/max_user_namespaces", "0", "user.max_user_namespaces=10000"),
        ("kernel/apparmor_restrict_unprivileged_userns", "1", "apparmor_restrict_unprivileged_userns=0"),
    ],
)
def test_unprivileged_path_names_the_setting_that_blocks_user_namespaces(
    monkeypatch: pytest.MonkeyPatch, sysctl: str, value: str, fix: str
) -> None:
    import subprocess

    monkeypatch.setattr(isolation, "_sysctl", lambda name: value if name == sysctl else None)
    # where AppArmor restricts them bwrap itself fails, as it does on Ubuntu 24.04
    failed = subprocess.CompletedProcess([], 1, "", "bwrap: setting up uid map: Permission denied\n")
    monkeypatch.setattr(isolation, "_probe", lambda argv: failed)
    as_user = THROWAWAY_UID if os.geteuid() == 0 else None
    isolation.ensure_isolation.cache_clear()
    try:
        with pytest.raises(PonderError, match=fix) as caught:
            isolation.ensure_isolation(as_user)
        assert "\n" not in str(caught.value)
    finally:
        isolation.ensure_isolation.cache_clear()


def test_bad_limits() -> None:
    with pytest.raises(PonderError, match="--timeout"):
        run_code("", "", Limits(timeout=0))


def test_every_humaneval_reference_passes_and_an_empty_body_fails(host_tmp: Path) -> None:
    from ponder.answers import extract_answer
    from ponder.tasks import correct, load

    items = load("humaneval", problems=200)
    assert len(items) == 164

    def judge(item: object, completion: str) -> bool:
        return correct(item, extract_answer(completion, "code"))  # type: ignore[arg-type]

    failing = [i.id for i in items if not judge(i, f"Here it is:\n```python\n{i.answer}```")]
    assert failing == []
    assert not judge(items[0], "```python\npass\n```")
    body_only = items[0].answer.removeprefix(str(items[0].data["prompt"]))
    assert judge(items[0], f"```python\n{body_only}```")  # a body alone is appended to the prompt


def test_sandbox_cli(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    (tmp_path / "code.py").write_text("def f():\n    return 1\n")
    (tmp_path / "tests.py").write_text("assert f() == 1\n")
    (tmp_path / "bad.py").write_text("assert f() == 2\n")
    cli = [sys.executable, "-m", "ponder.cli.main", "sandbox", "run", "--code", str(tmp_path / "code.py")]
    ok = subprocess.run(
        [*cli, "--tests", str(tmp_path / "tests.py"), "--json"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and set(json.loads(ok.stdout)) == {"status", "stdout", "stderr", "seconds"}
    bad = subprocess.run(
        [*cli, "--tests", str(tmp_path / "bad.py"), "--json"], capture_output=True, text=True
    )
    assert bad.returncode == 1 and json.loads(bad.stdout)["status"] == "failed"
    missing = subprocess.run([*cli, "--tests", str(tmp_path / "none.py")], capture_output=True, text=True)
    assert missing.returncode == 2 and "cannot read the tests file" in missing.stderr
    assert "Traceback" not in missing.stderr
