"""Local training with ``instance_count > 1``: one process per host, as SageMaker's instances.

Each host (``algo-1`` ... ``algo-N``) has its own ``/opt/ml``, ``SM_CURRENT_HOST``, hostname
and loopback address, every name resolves through the C resolver, and a ``torch.distributed``
(gloo) script trains across the hosts with the PyTorch container's ``MASTER_ADDR`` /
``MASTER_PORT``. Where the machine allows no namespaces the hosts still run, with a warning.
"""

from __future__ import annotations

import json
import tarfile
import textwrap
import time
from pathlib import Path

import pytest

from smkit.backends.local.hosts import (
    host_address,
    host_names,
    hosts_file_text,
    namespace_support,
    wrap_command,
)
from smkit.backends.local.jobs.packaging import _pack_merged
from smkit.errors import ResourceFailedError
from smkit.training import Channel, TrainingSpec

pytestmark = pytest.mark.timeout(180)

needs_namespaces = pytest.mark.skipif(
    namespace_support() is not None,
    reason=f"no host namespaces on this machine: {namespace_support()}",
)


def _script(tmp_path: Path, body: str, name: str = "job.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _output_files(session, job) -> dict[str, bytes]:
    with tarfile.open(session.store.path_for(job.output_data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


# -- the pieces ------------------------------------------------------------------------------


def test_host_names_and_addresses():
    assert host_names(3) == ["algo-1", "algo-2", "algo-3"]
    with pytest.raises(ValueError):
        host_names(0)
    addresses = [host_address(i) for i in range(600)]
    assert len(set(addresses)) == 600 and addresses[0] == "127.10.0.1"
    assert all(a.startswith("127.") and not a.endswith((".0", ".255")) for a in addresses)
    text = hosts_file_text(["algo-1", "algo-2"], base="127.0.0.1 localhost")
    assert text.splitlines()[0] == "127.0.0.1 localhost"  # the machine's own lines stay
    assert "127.10.0.2\talgo-2" in text.splitlines()
    cmd = wrap_command(["python", "x.py"], "algo-2", Path("/tmp/h"))
    assert cmd[0] == "unshare" and cmd[-4:] == ["/tmp/h", "algo-2", "python", "x.py"]


def test_merged_pack_lays_later_hosts_over_earlier(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    (one / "sub").mkdir(parents=True)
    two.mkdir()
    (one / "model.pt").write_text("algo-1")
    (one / "sub" / "a.txt").write_text("a")
    (two / "model.pt").write_text("algo-2")
    (two / "b.txt").write_text("b")
    target = tmp_path / "m.tar.gz"
    _pack_merged([one, two, tmp_path / "missing"], target)
    with tarfile.open(target) as tar:
        names = tar.getnames()
        assert names == ["b.txt", "model.pt", "sub", "sub/a.txt"]  # one entry per path
        assert tar.extractfile("model.pt").read() == b"algo-2"


# -- whole jobs --------------------------------------------------------------------------------

HOSTS_SCRIPT = """
import argparse, json, os, socket, time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
args = parser.parse_args()
hosts = json.loads(os.environ["SM_HOSTS"])
me = os.environ["SM_CURRENT_HOST"]
config = json.load(open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "resourceconfig.json")))
seen = {
    "current_host": me,
    "hostname": socket.gethostname(),
    "config_host": config["current_host"],
    "hosts": hosts,
    "addresses": {h: socket.gethostbyname(h) for h in hosts},
    "model_dir": os.environ["SM_MODEL_DIR"],
    "is_master": json.loads(os.environ["SM_TRAINING_ENV"])["is_master"],
}
master = os.environ["SM_MASTER_HOSTNAME"]
if me == master:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((socket.gethostbyname(me), args.port))
    server.listen()
    peers = []
    for _ in hosts[1:]:
        conn, (address, _) = server.accept()
        peers.append([conn.recv(64).decode(), address])
        conn.close()
    json.dump(sorted(peers), open(os.path.join(os.environ["SM_MODEL_DIR"], "peers.json"), "w"))
else:
    deadline = time.time() + 60
    while True:
        conn = socket.socket()
        # from this host's own address, as gloo binds to what its hostname resolves to
        conn.bind((socket.gethostbyname(me), 0))
        try:
            conn.connect((master, args.port))
            break
        except OSError:
            conn.close()
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    conn.sendall(me.encode())
    conn.close()
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], me + ".json"), "w") as fh:
    json.dump(seen, fh)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "written_by.txt"), "w") as fh:
    fh.write(me)
print(f"host {me} done")
"""


@needs_namespaces
def test_three_hosts_have_their_own_names_and_reach_each_other(local_session, tmp_path):
    machine_hosts = Path("/etc/hosts").read_text()
    script = _script(tmp_path, HOSTS_SCRIPT)
    job = local_session.train(
        TrainingSpec(
            entry_point=script,
            instance_count=3,
            hyperparameters={"port": _free_port()},
            profiler=None,
        )
    ).wait(timeout=120)
    assert job.status == "Completed", job.logs()
    files = _output_files(local_session, job)
    assert sorted(files) == ["algo-1.json", "algo-2.json", "algo-3.json"]  # every host's
    model_dirs = set()
    for index, host in enumerate(["algo-1", "algo-2", "algo-3"]):
        seen = json.loads(files[f"{host}.json"])
        assert seen["current_host"] == seen["hostname"] == seen["config_host"] == host
        assert seen["hosts"] == ["algo-1", "algo-2", "algo-3"]
        assert seen["addresses"] == {h: host_address(i) for i, h in enumerate(seen["hosts"])}
        assert seen["is_master"] is (index == 0)
        model_dirs.add(seen["model_dir"])
    assert len(model_dirs) == 3  # one /opt/ml per host
    with tarfile.open(local_session.store.path_for(job.model_data)) as tar:
        peers = json.load(tar.extractfile("peers.json"))
        # the last host's file wins where hosts wrote the same path (SageMaker local mode)
        assert tar.extractfile("written_by.txt").read() == b"algo-3"
    assert peers == [["algo-2", host_address(1)], ["algo-3", host_address(2)]]
    logs = job.logs()
    assert "[algo-2] host algo-2 done" in logs and "[algo-1] host algo-1 done" in logs
    record = job.describe()
    assert record["ResourceConfig"]["InstanceCount"] == 3
    assert len(record["HostPids"]) == 2
    assert Path("/etc/hosts").read_text() == machine_hosts  # the machine's file is untouched


@needs_namespaces
def test_single_host_resolves_its_own_name(local_session, tmp_path):
    script = _script(
        tmp_path,
        """
        import os, socket
        assert socket.gethostname() == "algo-1", socket.gethostname()
        print("resolved", socket.gethostbyname(os.environ["SM_MASTER_HOSTNAME"]))
        """,
    )
    job = local_session.train(TrainingSpec(entry_point=script, profiler=None)).wait(timeout=60)
    assert job.status == "Completed"
    assert f"resolved {host_address(0)}" in job.logs()


def test_sharded_channel_splits_objects_replicated_does_not(local_session, tmp_path):
    for i in range(5):
        local_session.store.put_bytes(f"s3://smkit/shard/part-{i}.csv", f"{i}\n".encode())
    for i in range(2):
        local_session.store.put_bytes(f"s3://smkit/full/f-{i}.csv", f"{i}\n".encode())
    script = _script(
        tmp_path,
        """
        import json, os
        me = os.environ["SM_CURRENT_HOST"]
        seen = {c: sorted(os.listdir(os.environ[f"SM_CHANNEL_{c.upper()}"]))
                for c in ("shard", "full")}
        json.dump(seen, open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], me + ".json"), "w"))
        """,
    )
    job = local_session.train(
        TrainingSpec(
            entry_point=script,
            instance_count=2,
            inputs={
                "shard": Channel("s3://smkit/shard/", distribution="ShardedByS3Key"),
                "full": Channel("s3://smkit/full/"),
            },
            profiler=None,
        )
    ).wait(timeout=90)
    assert job.status == "Completed", job.logs()
    files = _output_files(local_session, job)
    one, two = (json.loads(files[f"algo-{i}.json"]) for i in (1, 2))
    assert one["full"] == two["full"] == ["f-0.csv", "f-1.csv"]
    assert one["shard"] == ["part-0.csv", "part-2.csv", "part-4.csv"]
    assert two["shard"] == ["part-1.csv", "part-3.csv"]


def test_one_failing_host_fails_the_job_and_stops_the_others(local_session, tmp_path):
    script = _script(
        tmp_path,
        """
        import os, time
        if os.environ["SM_CURRENT_HOST"] == "algo-2":
            raise ValueError("algo-2 lost its shard")
        time.sleep(300)  # algo-1 would wait forever for its peer
        """,
    )
    started = time.monotonic()
    job = local_session.train(TrainingSpec(entry_point=script, instance_count=2, profiler=None))
    with pytest.raises(ResourceFailedError) as err:
        job.wait(timeout=90)
    assert time.monotonic() - started < 60
    reason = err.value.context["reason"]
    assert "ExitCode 1" in reason and "ValueError: algo-2 lost its shard" in reason
    assert "algo-2 failed (exit code 1): stopping the other hosts" in job.logs()


def test_without_namespaces_hosts_still_run_and_the_log_says_why(
    local_session, tmp_path, monkeypatch
):
    monkeypatch.setenv("SMKIT_HOST_NAMESPACES", "0")
    script = _script(
        tmp_path,
        """
        import os
        me = os.environ["SM_CURRENT_HOST"]
        open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], me), "w").write(me)
        """,
    )
    job = local_session.train(
        TrainingSpec(entry_point=script, instance_count=2, profiler=None)
    ).wait(timeout=60)
    assert job.status == "Completed"
    assert sorted(_output_files(local_session, job)) == ["algo-1", "algo-2"]
    warnings = job.describe()["SmkitWarnings"]
    assert any("run as plain processes (SMKIT_HOST_NAMESPACES=0)" in w for w in warnings)


GLOO_SCRIPT = """
import json, os, sys
import torch
import torch.distributed as dist

hosts = json.loads(os.environ["SM_HOSTS"])
me = os.environ["SM_CURRENT_HOST"]
rank = hosts.index(me)
# the PyTorch container's variables; the script passes nothing else to torch
assert os.environ["MASTER_ADDR"] == "algo-1" and os.environ["MASTER_PORT"] == "7777"
dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=len(hosts))
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value)
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
g = torch.Generator().manual_seed(rank)  # each host its own shard of the data
for _ in range(5):
    x = torch.randn(16, 4, generator=g)
    loss = ((model(x) - x.sum(dim=1, keepdim=True)) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
weights = [p.detach().flatten().tolist() for p in model.parameters()]
out = {"sum": value.item(), "weights": weights, "world": dist.get_world_size()}
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], me + ".json"), "w") as f:
    json.dump(out, f)
dist.barrier()
dist.destroy_process_group()
# torch's gloo teardown race: DDP keeps the process group alive past destroy_process_group
# (its reducer), so gloo's worker threads live on; one that drops its last finished work
# while the interpreter finalizes needs the GIL, and the process aborts ("terminate called
# without an active exception", SIGABRT; core dump: ProcessGroupGloo::runLoop ->
# ~AsyncBarrierWork -> gil_scoped_acquire in Py_FinalizeEx; pytorch/pytorch#179291). On a
# loaded 2-core machine 4 runs in 80 aborted so, none of 80 with this exit. The work is done
# and written: leave without finalizing.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


@needs_namespaces
@pytest.mark.slow
def test_torch_distributed_gloo_trains_across_two_hosts(local_session, tmp_path):
    pytest.importorskip("torch")
    script = _script(tmp_path, GLOO_SCRIPT)
    job = local_session.train(
        TrainingSpec(entry_point=script, framework="pytorch", instance_count=2, profiler=None)
    ).wait(timeout=150)
    assert job.status == "Completed", job.logs()
    files = _output_files(local_session, job)
    one, two = (json.loads(files[f"algo-{i}.json"]) for i in (1, 2))
    assert one["sum"] == two["sum"] == 3.0 and one["world"] == 2
    # DDP averaged the gradients: both hosts end with the same weights
    assert one["weights"] == two["weights"]


def _wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return None


def _gone(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_and_a_killed_supervisor_reach_every_host(local_session, tmp_path):
    import os
    import signal

    script = _script(tmp_path, "import time\nprint('up', flush=True)\ntime.sleep(120)\n")
    job = local_session.train(TrainingSpec(entry_point=script, instance_count=2, profiler=None))
    record = _wait_for(lambda: job.describe().get("HostPids") and job.describe())
    assert record, job.logs()
    job.stop()
    job.wait(timeout=30)
    assert job.status == "Stopped"
    assert _wait_for(lambda: all(_gone(p) for p, _ in record["HostPids"]), 10)

    job = local_session.train(TrainingSpec(entry_point=script, instance_count=3, profiler=None))
    record = _wait_for(lambda: job.describe().get("HostPids") and job.describe())
    assert record, job.logs()
    os.kill(record["SupervisorPid"], signal.SIGKILL)
    assert _wait_for(lambda: job.status == "Failed")
    pids = [record["ScriptPid"], *(p for p, _ in record["HostPids"])]
    assert _wait_for(lambda: all(_gone(p) for p in pids), 10)  # no orphaned host left


def test_cli_instance_count_runs_every_host(tmp_path, capsys):
    from smkit.cli import main

    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        "import os\n"
        "me = os.environ['SM_CURRENT_HOST']\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], me), 'w').write(me)\n"
        "print('trained on', me)\n"
    )
    out = tmp_path / "out"
    rc = main(
        [
            "train", "--entry-point", "train.py", "--source-dir", str(src),
            "--instance-count", "2", "--out", str(out), "--root", str(tmp_path / "root"),
        ]
    )  # fmt: skip
    assert rc == 0
    record = json.loads((out / "job.json").read_text())
    assert record["ResourceConfig"]["InstanceCount"] == 2
    with tarfile.open(out / "model.tar.gz") as tar:
        assert tar.getnames() == ["algo-1", "algo-2"]
    assert "[algo-2] trained on algo-2" in capsys.readouterr().out
    assert main(["train", "--entry-point", "train.py", "--source-dir", str(src),
                 "--instance-count", "0", "--root", str(tmp_path / "root")]) == 2  # fmt: skip
    assert "--instance-count must be >= 1" in capsys.readouterr().err
