"""Two ranks across a real network: two network namespaces joined by a veth pair, one rank in each, MPI over
TCP only (`--mca btl tcp,self`). mpirun starts the second "host"'s daemon through a launch agent that enters
the other namespace (with its own host name) instead of ssh. Skipped where namespaces cannot be made."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.distributed.conftest import rank_info
from tests.distributed.mpi import MPIRUN, requires_mpirun, run_job
from tests.distributed.test_ddp import rank_weights, single_process

AGENT = """#!/bin/sh
# mpirun's launch agent: "AGENT HOST COMMAND..." runs COMMAND in HOST's network namespace, not over ssh
host="$1"; shift
case "$host" in
  {b_address}) exec ip netns exec {b_ns} unshare --uts sh -c "hostname {b_ns}; $*" ;;
  *) exec ip netns exec {a_ns} sh -c "$*" ;;
esac
"""


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def two_hosts():
    """(namespace A, address A, namespace B, address B, subnet): two namespaces joined by a veth pair."""
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("needs root with the ip and unshare commands to make network namespaces")
    tag = os.getpid() % 100000
    a_ns, b_ns = f"cnnkit-a-{tag}", f"cnnkit-b-{tag}"
    subnet = f"10.231.{tag % 200 + 20}"
    made = _ip("netns", "add", a_ns)
    if made.returncode != 0:
        pytest.skip(f"this machine does not allow network namespaces (ip netns add: {made.stderr.strip()})")
    try:
        steps = [
            ("netns", "add", b_ns),
            ("link", "add", f"ckva{tag}", "type", "veth", "peer", "name", f"ckvb{tag}"),
            ("link", "set", f"ckva{tag}", "netns", a_ns),
            ("link", "set", f"ckvb{tag}", "netns", b_ns),
            ("-n", a_ns, "addr", "add", f"{subnet}.1/24", "dev", f"ckva{tag}"),
            ("-n", b_ns, "addr", "add", f"{subnet}.2/24", "dev", f"ckvb{tag}"),
            ("-n", a_ns, "link", "set", f"ckva{tag}", "up"),
            ("-n", b_ns, "link", "set", f"ckvb{tag}", "up"),
            ("-n", a_ns, "link", "set", "lo", "up"),
            ("-n", b_ns, "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                pytest.skip(f"could not join the namespaces with a veth pair (ip {' '.join(step)}: {done.stderr})")
        yield a_ns, f"{subnet}.1", b_ns, f"{subnet}.2", f"{subnet}.0/24"
    finally:
        _ip("netns", "del", a_ns)
        _ip("netns", "del", b_ns)  # the veth pair goes with its namespaces


@requires_mpirun
def test_two_ranks_in_two_namespaces_train_over_tcp(two_hosts, tmp_path):
    a_ns, a_address, b_ns, b_address, subnet = two_hosts
    agent = tmp_path / "agent.sh"
    agent.write_text(AGENT.format(a_ns=a_ns, b_ns=b_ns, b_address=b_address))
    agent.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    command = [
        "ip",
        "netns",
        "exec",
        a_ns,
        MPIRUN,
        "--allow-run-as-root",
        "-np",
        "2",
        "--host",
        f"{a_address}:1,{b_address}:1",
        "--prtemca",
        "plm_ssh_agent",
        str(agent),
        "--prtemca",
        "oob_tcp_if_include",
        subnet,
        "--mca",
        "btl",
        "tcp,self",
        "--mca",
        "btl_tcp_if_include",
        subnet,
        sys.executable,
        "-m",
        "tests.distributed.workers",
        "basics",
        str(out),
    ]
    job = run_job(command, timeout=120)
    assert job.returncode == 0, f"{job.stdout}\n{job.stderr}"
    namespaces = {rank_info(out, r)["netns"] for r in (0, 1)}
    assert len(namespaces) == 2  # one rank in each namespace: they could only talk over the veth pair
    reference = single_process(batchnorm=False)
    for rank in (0, 1):
        weights, _ = rank_weights(out, "plain", rank)
        for name, value in reference.items():
            np.testing.assert_allclose(weights[name], value, rtol=0, atol=1e-5, err_msg=f"rank {rank}: {name}")
    assert rank_info(out, 1)["communication"]["sum"] == [2.0, 1.0, 10.0]
