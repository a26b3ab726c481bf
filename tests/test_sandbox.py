"""Real attacks on the sandbox. Each must be contained, leave the host as it was, and honest code
must still pass."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ponder import PonderError
from ponder.sandbox import Limits, isolation, run_code

FAST = Limits(timeout=3.0)


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


def sandbox_processes() -> list[int]:
    """Processes running as one of the sandbox's uids (200000 and up)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            uid = int(status.split("Uid:")[1].split()[0])
            if uid >= 200_000:
                found.append(pid)
    return found


@pytest.fixture()
def host_tmp(tmp_path: Path) -> Iterator[Path]:
    before = set(os.listdir("/tmp"))
    yield tmp_path
    time.sleep(0.2)
    assert not sandbox_processes(), "a sandboxed process outlived its run"
    leaked = {n for n in set(os.listdir("/tmp")) - before if n.startswith("ponder-sandbox")}
    assert not leaked, leaked


def test_honest_code_passes(host_tmp: Path) -> None:
    program = "def add(a, b):\n    return a + b\nprint('hello')\n"
    result = run_code(program, "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n")
    assert result.status == "passed" and result.stdout == "hello\n"
    assert run_code(program, "assert add(2, 2) == 5").status == "failed"
    assert run_code("def add(a, b) return", "").status == "error"
    assert run_code("raise SystemExit(0)", "").status == "error"  # leaving before the tests is no pass


def test_the_tests_see_the_programs_definitions(host_tmp: Path) -> None:
    program = "def candidate(x):\n    return x * 2\n"
    tests = "def check(f):\n    assert f(3) == 6\ncheck(candidate)\n"
    assert run_code(program, tests).status == "passed"


def test_fork_bomb(host_tmp: Path) -> None:
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    started = time.monotonic()
    result = run_code(bomb, "", FAST)
    assert result.status == "timeout"
    assert time.monotonic() - started < FAST.timeout + 5


def test_endless_loop(host_tmp: Path) -> None:
    result = run_code("while True:\n    pass\n", "", Limits(timeout=1.5))
    assert result.status == "timeout" and result.seconds < 4


def test_memory_hog(host_tmp: Path) -> None:
    hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(50_000_000))\n"
    assert run_code(hog, "", Limits(timeout=10, memory_mb=256)).status == "memory"


def test_writing_and_deleting_outside_its_directory(host_tmp: Path) -> None:
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
    result = run_code(attack, "", FAST)
    assert result.status == "passed", result.stderr
    assert "done" not in result.stdout
    assert canary.read_text() == "host data"
    assert not Path("/usr/lib/evil").exists() and not Path("/evil").exists()
    assert Path("/usr/lib/os-release").exists()


def test_reading_host_files_and_the_parents_secrets(host_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("PONDER_TEST_SECRET", secret)
    (host_tmp / "secret.txt").write_text(secret)
    targets = (str(host_tmp / "secret.txt"), "/etc/passwd", "/etc/shadow", "/proc/1/environ", str(Path.cwd()))
    spy = f"""
import os
print(dict(os.environ))
print(sorted(os.listdir("/")))
for path in {targets!r}:
    try:
        print(path, open(path).read()[:100] if not os.path.isdir(path) else os.listdir(path))
    except OSError as e:
        print(path, type(e).__name__)
"""
    result = run_code(spy, "", FAST)
    assert result.status == "passed", result.stderr
    assert secret not in result.stdout and "PONDER_TEST_SECRET" not in result.stdout
    assert "root:" not in result.stdout  # no /etc/passwd
    assert "['dev', 'lib', 'lib64', 'proc', 'root', 'sandbox', 'usr']" in result.stdout


def test_no_network_not_even_the_hosts_loopback(host_tmp: Path) -> None:
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
    result = run_code(probe, "", FAST)
    listener.join()
    server.close()
    assert result.status == "passed", result.stderr
    assert "connected" not in result.stdout and connections == []


def test_a_daemon_does_not_outlive_the_run(host_tmp: Path) -> None:
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
    result = run_code(daemon, "", FAST)
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
