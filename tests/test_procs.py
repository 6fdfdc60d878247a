"""Process groups with real processes: what `procs.stop` waits for."""

import signal
import sys

from loadlab.stack import procs


def test_a_group_whose_processes_have_all_exited_is_not_alive_though_not_yet_reaped():
    # A zombie stays in its group until its parent (here: this test; for orphans: init, which on some
    # machines reaps only every second or so) reaps it. Stopping must not wait for that.
    leader = procs.start([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert procs.group_alive(leader.pid)
        leader.send_signal(signal.SIGKILL)
        while not _is_zombie(leader.pid):
            pass
        assert not procs.group_alive(leader.pid)  # only a zombie is left in it
    finally:
        procs.stop(leader)
    assert leader.returncode == -signal.SIGKILL


def _is_zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
