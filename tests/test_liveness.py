"""Engine liveness: a crashed engine on this host is dead at once, other hosts' by heartbeat age."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from syncops.store.control import EngineAlreadyRunning, register_engine
from syncops.store.liveness import engine_id as make_engine_id, heartbeat_is_live
from syncops.store.queries import engines, live_engine
from syncops.store.tables import EngineHeartbeat

HERE = socket.gethostname()


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has run and exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _heartbeat(store, *, host: str, pid: int, started_ago: float = 60, beat_ago: float = 0.5,
               eid: str | None = None) -> str:
    """A heartbeat row as an engine with that host and pid (in this process table) writes it."""
    eid = eid or make_engine_id(host, pid)
    now = store.clock()
    with store.write() as conn:
        conn.execute(EngineHeartbeat.__table__.insert().values(
            engine_id=eid, host=host, pid=pid, version="0.1.0", started_at=now - started_ago,
            beat_at=now - beat_ago, mode="service"))
    return eid


def _register(store, engine_id: str = "new-engine") -> None:
    register_engine(store, engine_id=engine_id, host=HERE, pid=os.getpid(), version="0.1.0", mode="service",
                    stale_after=15.0, exclusive=True)


@pytest.fixture
def wall_store(tmp_path):
    # Start times come from /proc, in wall-clock seconds: these tests use the real clock.
    from syncops.store.db import open_store

    s = open_store(f"sqlite:///{tmp_path}/s.db")
    yield s
    s.close()


def test_a_fresh_heartbeat_left_by_a_dead_pid_on_this_host_is_taken_over_at_once(wall_store, dead_pid):
    old = _heartbeat(wall_store, host=HERE, pid=dead_pid)
    assert live_engine(wall_store) is None  # consoles embed an engine instead of attaching to a corpse
    _register(wall_store)
    rows = {e.engine_id: e for e in engines(wall_store)}
    assert rows[old].stopped_at is not None and rows["new-engine"].stopped_at is None


def test_a_live_engine_on_another_host_still_refuses(wall_store, dead_pid):
    old = _heartbeat(wall_store, host="till-2", pid=dead_pid)  # that pid means nothing here
    with pytest.raises(EngineAlreadyRunning, match=f"till-2 pid {dead_pid}"):
        _register(wall_store)
    assert live_engine(wall_store).engine_id == old


@pytest.mark.parametrize("eid", ["vm:1:abcd1234@0badc0de-4026531836", "vm:1:abcd1234"],
                         ids=["another-pid-namespace", "older-syncops-without-tag"])
def test_a_same_named_host_with_other_pids_is_judged_by_age(wall_store, dead_pid, eid):
    # A container with host networking shares the host name but not its pids.
    _heartbeat(wall_store, host=HERE, pid=dead_pid, eid=eid.replace("vm", HERE))
    with pytest.raises(EngineAlreadyRunning):
        _register(wall_store)


def test_a_running_process_on_this_host_with_a_fresh_heartbeat_refuses(wall_store):
    # Our own pid stands for a live engine started before its heartbeat row.
    _heartbeat(wall_store, host=HERE, pid=os.getpid(), started_ago=0.0)
    with pytest.raises(EngineAlreadyRunning):
        _register(wall_store)


def test_a_reused_pid_is_not_the_engine_that_registered(wall_store):
    # This process started long after the heartbeat's engine did: the pid was recycled.
    if not os.path.exists(f"/proc/{os.getpid()}/stat"):
        pytest.skip("needs /proc for process start times")
    _heartbeat(wall_store, host=HERE, pid=os.getpid(), started_ago=10 * 24 * 3600)
    assert live_engine(wall_store) is None
    _register(wall_store)


def test_a_live_pid_that_stopped_beating_is_judged_by_age(dead_pid):
    class Row:
        host, pid, started_at, stopped_at = HERE, os.getpid(), 0.0, None
        engine_id = make_engine_id(HERE, os.getpid())
        beat_at = 1000.0

    Row.started_at = 1e12  # a start time in the future cannot look like a reused pid
    assert heartbeat_is_live(Row, now=1010.0, stale_after=15.0)
    assert not heartbeat_is_live(Row, now=1016.0, stale_after=15.0)
    Row.stopped_at = 1005.0
    assert not heartbeat_is_live(Row, now=1006.0, stale_after=15.0)
