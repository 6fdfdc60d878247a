"""Process groups with real processes: what `procs.stop` waits for; ports that concurrent runs pick (`ports`)."""

import contextlib
import signal
import subprocess
import sys

import pytest

from loadlab.errors import USAGE, LoadlabError
from loadlab.stack import ports, procs


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


# --- ports: two runs picking at the same moment must not get the same ones ---

_PICK = (
    "import sys\nfrom loadlab.stack import ports\n"
    "print(' '.join(map(str, ports.free_ports(int(sys.argv[1])))), flush=True)\nsys.stdin.read()"
)


def _picker(count: int) -> subprocess.Popen:
    """Another process (another run) that picks `count` ports, prints them and keeps them until its stdin closes."""
    return subprocess.Popen(
        [sys.executable, "-c", _PICK, str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def test_ports_picked_by_another_process_and_not_yet_bound_are_not_handed_out_again():
    other = _picker(3)
    with other:
        theirs = [int(port) for port in other.stdout.readline().split()]
        assert len(theirs) == 3 and all(ports.port_is_free("127.0.0.1", port) for port in theirs)  # nothing bound yet
        ours = ports.free_ports(3, first=theirs[0])
        try:
            assert not set(ours) & set(theirs)
        finally:
            ports.release(ours)
        other.stdin.close()  # that process exits: the kernel drops its locks
        assert other.wait(10) == 0
    again = ports.free_ports(3, first=theirs[0])
    try:
        assert again == theirs
    finally:
        ports.release(again)


def test_processes_picking_ports_at_the_same_moment_get_different_ones():
    with contextlib.ExitStack() as stack:
        pickers = [stack.enter_context(_picker(20)) for _ in range(4)]  # all start before any has picked
        picked = [port for picker in pickers for port in picker.stdout.readline().split()]
        for picker in pickers:
            picker.stdin.close()
            assert picker.wait(10) == 0
    assert len(picked) == 80 == len(set(picked))


def test_a_port_released_is_handed_out_again_and_a_preferred_port_once_only():
    (port,) = ports.free_ports(1)
    assert ports.free_port(preferred=port) != port  # we hold it already
    ports.release([port])
    assert ports.free_port(preferred=port) == port
    ports.release([port])


def test_a_port_that_must_be_this_one_is_refused_naming_who_listens_on_it():
    holder = subprocess.Popen([sys.executable, "-c", _LISTEN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with holder:
        port = int(holder.stdout.readline())
        try:
            with pytest.raises(LoadlabError) as info:
                ports.claim("127.0.0.1", port, "Locust's master port")
            message = str(info.value)
            assert "\n" not in message and info.value.status == USAGE
            assert f"port {port} on 127.0.0.1 (Locust's master port) is taken: pid {holder.pid} (" in message
            assert "socket.socket" in message  # its command line
        finally:
            holder.stdin.close()
            holder.wait(10)
    ports.claim("127.0.0.1", port, "Locust's master port")  # free again: taken at once
    ports.release([port])


_LISTEN = (
    "import socket, sys\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
    "print(s.getsockname()[1], flush=True)\nsys.stdin.read()"
)
