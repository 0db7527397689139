"""die_with_parent() when the parent is already gone by the time the child asks."""
from __future__ import annotations

import subprocess
import sys
import textwrap

# A subreaper forks P; P forks C and exits at once.  C waits until it has been
# re-parented, when the kernel's death signal can no longer come, and only
# then calls die_with_parent() (or, as the control, does not).  The
# subreaper reaps C and prints how it ended.
SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    from sharekit.process import die_with_parent, prctl
    call = sys.argv[1] == "call"
    prctl(36, 1)   # PR_SET_CHILD_SUBREAPER: orphans come back to this process
    r, w = os.pipe()
    p = os.fork()
    if p == 0:
        me = os.getpid()
        c = os.fork()
        if c == 0:
            deadline = time.monotonic() + 10
            while os.getppid() == me and time.monotonic() < deadline:
                time.sleep(0.01)
            if call:
                die_with_parent()
            os._exit(0)
        os.write(w, str(c).encode())
        os._exit(0)
    os.waitpid(p, 0)
    c = int(os.read(r, 32))
    _, status = os.waitpid(c, 0)
    print("killed" if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL else "exited")
""")


def _outcome(mode: str) -> str:
    result = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_child_whose_parent_died_before_it_asked_dies_at_once():
    assert _outcome("call") == "killed"


def test_control_the_same_child_without_the_call_lives_on():
    assert _outcome("none") == "exited"
