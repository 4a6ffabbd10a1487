"""info.json / usage.jsonl: con-duct's own CLI (ls, pp, plot) reads what we write, with exactly
the keys con-duct itself writes, and the command lines pass the files chain's text function."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from con_duct._formatter import SummaryFormatter

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.exporters.conduct import INFO_FILE, USAGE_FILE, ConductWriter, etime, iso_time
from otel_kedro.model.usage import ProcessUsage, TreeSample, UsageSummary
from otel_kedro.runs.chains import destination_chain

CON_DUCT = str(Path(sys.executable).with_name("con-duct"))
SECRET = "hunter2-correct-horse"  # noqa: S105 - the value that must never be written
MB = 1_000_000
# The workload measures itself: its own high-water RSS (VmHWM) is the ground truth for a
# 200 MB allocation held ~0.1 s, shorter than the sampling interval.
WORKLOAD = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; x = b'y' * 30_000_000; time.sleep(1.2)",
         "--password=" + sys.argv[1].split("=", 1)[1]]
    )
    end = time.time() + 0.4
    while time.time() < end:
        pass
    spike = b"x" * 200_000_000
    time.sleep(0.1)
    del spike
    time.sleep(1.0)  # samples after the spike see its high-water mark, even on a slow machine
    child.wait()
    # VmHWM, not ru_maxrss: Linux carries the forked parent's (pytest's) size into the maxrss
    # of an exec'd child, so ru_maxrss can exceed anything this script ever held.
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
    print(int(status) * 1024, flush=True)
    """
)


def _vmhwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclasses.dataclass
class Measured:
    samples: list[TreeSample]
    summary: UsageSummary
    command: str
    root_pid: int
    root_maxrss: int  # the workload's own high-water mark (VmHWM), bytes


def measure(argv: list[str], interval: float) -> Measured:
    """A small psutil sampler, enough to give the writer a realistic sequence of samples."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    root = psutil.Process(process.pid)
    previous: dict[int, tuple[float, float]] = {}  # pid -> (create_time, cpu seconds)
    samples: list[TreeSample] = []
    last = time.time()
    tree_peak = 0
    while process.poll() is None:
        now = time.time()
        elapsed = now - last if samples else 0.0
        usages = []
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for member in members:
            try:
                with member.oneshot():
                    times = member.cpu_times()
                    memory = member.memory_info()
                    usage = ProcessUsage(
                        pid=member.pid, ppid=member.ppid(), name=member.name(),
                        cmd=" ".join(member.cmdline()), create_time=member.create_time(),
                        status=member.status(), cpu_user=times.user + times.children_user,
                        cpu_system=times.system + times.children_system, cpu_percent=0.0,
                        rss=memory.rss, vms=memory.vms, peak_rss=_vmhwm(member.pid), pss=None,
                        uss=None, threads=member.num_threads(), fds=member.num_fds(),
                        read_bytes=None, write_bytes=None,
                    )  # fmt: skip
            except (psutil.Error, FileNotFoundError, ProcessLookupError):
                continue
            seconds = usage.cpu_user + usage.cpu_system
            before = previous.get(usage.pid)
            if before and before[0] == usage.create_time and elapsed > 0:
                percent = max(0.0, (seconds - before[1]) / elapsed * 100)
                usage = usage._replace(cpu_percent=percent)
            previous[usage.pid] = (usage.create_time, seconds)
            usages.append(usage)
        rss = sum(u.rss for u in usages)
        tree_peak = max([tree_peak, rss, *(u.peak_rss + rss - u.rss for u in usages)])
        samples.append(
            TreeSample(
                timestamp=now, interval=elapsed, processes=tuple(usages),
                cpu_user=sum(u.cpu_user for u in usages),
                cpu_system=sum(u.cpu_system for u in usages),
                cpu_percent=sum(u.cpu_percent for u in usages), rss=rss,
                vms=sum(u.vms for u in usages), pss=None, peak_rss=tree_peak,
                threads=sum(u.threads for u in usages), fds=None, read_bytes=None,
                write_bytes=None,
            )
        )  # fmt: skip
        last = now
        time.sleep(interval)
    out, _ = process.communicate()
    assert process.returncode == 0
    assert len(samples) >= 4
    wall = samples[-1].timestamp - samples[0].timestamp
    cpu = samples[-1].cpu_user + samples[-1].cpu_system
    summary = UsageSummary(
        start_time=samples[0].timestamp, end_time=samples[-1].timestamp,
        num_samples=len(samples), cpu_user=samples[-1].cpu_user,
        cpu_system=samples[-1].cpu_system, peak_rss=max(s.peak_rss for s in samples),
        average_rss=sum(s.rss for s in samples) / len(samples),
        peak_vms=max(s.vms for s in samples),
        average_vms=sum(s.vms for s in samples) / len(samples), peak_pss=None,
        average_pss=None, peak_pcpu=max(s.cpu_percent for s in samples),
        average_pcpu=cpu / wall * 100, memory_total=psutil.virtual_memory().total,
        cpu_total=psutil.cpu_count() or 1, approximations=(),
    )  # fmt: skip
    return Measured(samples, summary, " ".join(argv), process.pid, int(out.strip()))


def con_duct(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "DUCT_CONFIG_PATHS": str(cwd / "no.env")}
    return subprocess.run([CON_DUCT, *args], capture_output=True, text=True, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Measured]:
    base = tmp_path_factory.mktemp("conduct")
    script = base / "workload.py"
    script.write_text(WORKLOAD)
    measured = measure([sys.executable, str(script), f"--password={SECRET}"], interval=0.25)
    folder = base / "run"
    folder.mkdir()
    chain = destination_chain(PrivacySettings(), "files")
    writer = ConductWriter(
        folder, command=measured.command, working_directory=str(base), text=chain.text,
        report_interval=0.5,
    )  # fmt: skip
    for sample in measured.samples:
        writer.add_sample(sample)
    writer.finish(measured.summary, 0, message=f"measured with --token={SECRET}")
    writer.close()
    return folder, measured


@pytest.fixture(scope="module")
def duct_own(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder written by con-duct itself, for its exact keys."""
    base = tmp_path_factory.mktemp("duct")
    result = con_duct(
        "run", "-l", "NONE", "--output-prefix", f"{base}/logs/", "--sample-interval", "0.1",
        "--report-interval", "0.1", "--", "sleep", "0.6", cwd=base,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return base / "logs"


def _usage(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / USAGE_FILE).read_text().splitlines()]


def test_con_duct_ls_lists_our_run_with_our_numbers(run_folder: tuple[Path, Measured]) -> None:
    folder, measured = run_folder
    table = con_duct("ls", str(folder / INFO_FILE), cwd=folder)
    assert table.returncode == 0, table.stderr
    listed = con_duct("ls", "-f", "json", "-F", "command", "exit_code", "peak_rss",
                      "num_samples", "peak_pcpu", "--", str(folder / INFO_FILE), cwd=folder)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["prefix"] == f"{folder}/"
    assert row["command"].startswith(f"{sys.executable} ")
    assert row["command"].endswith("--password=*****")  # the files chain's text scrubbing
    assert row["exit_code"] == "0"
    peak = SummaryFormatter().naturalsize(measured.summary.peak_rss)
    assert row["peak_rss"] == peak
    assert row["num_samples"] == len(measured.samples)
    assert row["peak_pcpu"] == f"{measured.summary.peak_pcpu:.2f}%"
    assert peak in table.stdout
    assert "--password=*****" in table.stdout


def test_con_duct_pp_reads_both_files(run_folder: tuple[Path, Measured]) -> None:
    folder, measured = run_folder
    info = con_duct("pp", str(folder / INFO_FILE), cwd=folder)
    assert info.returncode == 0, info.stderr
    assert "'schema_version': '0.2.3'" in info.stdout
    assert f"'peak_rss': {measured.summary.peak_rss}" in info.stdout
    usage = con_duct("pp", "--humanize", str(folder / USAGE_FILE), cwd=folder)
    assert usage.returncode == 0, usage.stderr
    assert f"'{measured.root_pid}'" in usage.stdout


def test_con_duct_plot_draws_our_usage(run_folder: tuple[Path, Measured], tmp_path: Path) -> None:
    folder, _ = run_folder
    for source in (INFO_FILE, USAGE_FILE):
        png = tmp_path / f"{source}.png"
        result = con_duct("plot", str(folder / source), "--output", str(png), cwd=folder)
        assert result.returncode == 0, result.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 10_000


def test_a_spike_between_samples_survives_in_the_records(run_folder: tuple[Path, Measured]) -> None:
    folder, measured = run_folder
    records = _usage(folder)
    root_rss = max(r["processes"][str(measured.root_pid)]["rss"] for r in records if
                   str(measured.root_pid) in r["processes"])  # fmt: skip
    # The 200 MB held for 0.1 s: present even when no sample saw it (VmHWM rose in between).
    assert root_rss >= measured.root_maxrss
    assert root_rss > 200 * MB
    assert max(r["totals"]["rss"] for r in records) >= root_rss
    info = json.loads((folder / INFO_FILE).read_text())
    assert info["execution_summary"]["peak_rss"] >= measured.root_maxrss


def _kind(value: Any) -> str:
    return (
        "number"
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else (type(value).__name__)
    )


def assert_same_keys(ours: dict[str, Any], theirs: dict[str, Any], where: str = "") -> None:
    """Same keys in the same order at every level, and the same kind of value in each."""
    assert list(ours) == list(theirs), where
    for key, value in theirs.items():
        if key in ("env", "gpu", "stat"):  # data, not schema: depend on machine and process
            continue
        if isinstance(value, dict):
            assert_same_keys(ours[key], value, f"{where}.{key}")
        elif value is not None and ours[key] is not None:
            assert _kind(ours[key]) == _kind(value), f"{where}.{key}"


def test_keys_are_exactly_con_ducts_own(run_folder: tuple[Path, Measured], duct_own: Path) -> None:
    folder, measured = run_folder
    summary = measured.summary
    ours = json.loads((folder / INFO_FILE).read_text())
    theirs = json.loads((duct_own / INFO_FILE).read_text())
    assert_same_keys(ours, theirs)
    sizes = ("cpu_total", "memory_total")  # the sampler's figures, which we pass on
    assert {k: v for k, v in ours["system"].items() if k not in sizes} == {
        k: v for k, v in theirs["system"].items() if k not in sizes
    }  # the same machine, described the same way
    assert [ours["system"][k] for k in sizes] == [summary.cpu_total, summary.memory_total]
    assert ours["env"] == theirs["env"]  # the same PBS_/SLURM_/OSG variables
    assert ours["gpu"] is None
    assert ours["schema_version"] == theirs["schema_version"] == "0.2.3"

    our_records, their_records = _usage(folder), _usage(duct_own)
    their_record = next(r for r in their_records if r["processes"])
    their_process = next(iter(their_record["processes"].values()))
    assert len(our_records) >= 3
    for record in our_records:
        extra = record.pop("otel_kedro")  # our one extra key, which con-duct's readers ignore
        assert set(extra) == {"peak_rss", "pss", "cpu_user", "cpu_system"}
        assert_same_keys({**record, "processes": {}}, {**their_record, "processes": {}})
        for process in record["processes"].values():
            assert_same_keys(process, their_process)
            assert all(isinstance(v, int) for v in process["stat"].values())
            assert process["timestamp"].endswith("+00:00")


def test_privacy_applies_to_every_command_line(run_folder: tuple[Path, Measured]) -> None:
    folder, measured = run_folder
    for path in (folder / INFO_FILE, folder / USAGE_FILE):
        assert SECRET not in path.read_text()
    info = json.loads((folder / INFO_FILE).read_text())
    assert info["command"] == info["execution_summary"]["command"]
    assert info["command"].endswith("--password=*****")
    assert info["message"] == "measured with --token=*****"
    commands = {p["cmd"] for r in _usage(folder) for p in r["processes"].values()}
    assert any("x = b'y'" in c and c.endswith("--password=*****") for c in commands)
    assert len(commands) >= 2
    seen = {u.cmd for s in measured.samples for u in s.processes}
    assert any(SECRET in c for c in seen)  # so the test would notice a leak


def _sample(at: float, processes: tuple[ProcessUsage, ...], **changes: Any) -> TreeSample:
    values: dict[str, Any] = {
        "timestamp": at, "interval": 0.5, "processes": processes,
        "cpu_user": sum(p.cpu_user for p in processes),
        "cpu_system": sum(p.cpu_system for p in processes),
        "cpu_percent": sum(p.cpu_percent for p in processes),
        "rss": sum(p.rss for p in processes), "vms": sum(p.vms for p in processes),
        "pss": None, "peak_rss": max((p.peak_rss for p in processes), default=0),
        "threads": 1, "fds": None, "read_bytes": None, "write_bytes": None,
    }  # fmt: skip
    values.update(changes)
    return TreeSample(**values)


def _proc(
    pid: int, rss: int, pcpu: float, status: str = "sleeping", **changes: Any
) -> ProcessUsage:
    values: dict[str, Any] = {
        "pid": pid, "ppid": 1, "name": "python", "cmd": f"python job{pid}.py", "create_time": 0.0,
        "status": status, "cpu_user": 1.0, "cpu_system": 0.5, "cpu_percent": pcpu, "rss": rss,
        "vms": 3 * rss, "peak_rss": rss, "pss": None, "uss": None, "threads": 1, "fds": None,
        "read_bytes": None, "write_bytes": None,
    }  # fmt: skip
    values.update(changes)
    return ProcessUsage(**values)


def test_records_fold_samples_into_maxima_and_means(tmp_path: Path) -> None:
    writer = ConductWriter(
        tmp_path, command="job", working_directory="/w", text=str.upper, report_interval=2.0
    )
    t0 = 1000.0
    sequence = [
        _sample(t0, (_proc(1, 10 * MB, 0.0),), interval=0.0),
        _sample(t0 + 0.5, (_proc(1, 10 * MB, 50.0), _proc(2, 5 * MB, 100.0, "running"))),
        _sample(t0 + 1.0, (_proc(1, 12 * MB, 20.0), _proc(2, 300 * MB, 90.0, "running"))),
        # Between this sample and the last, process 1 briefly reached 80 MB (its VmHWM), and a
        # child that has exited since used most of a core: the tree's own rate says so.
        _sample(
            t0 + 1.5,
            (_proc(1, 11 * MB, 10.0, peak_rss=80 * MB),),
            peak_rss=320 * MB,
            cpu_percent=190.0,
        ),
        _sample(t0 + 2.0, (_proc(1, 11 * MB, 10.0, peak_rss=80 * MB, status="zombie"),)),
        _sample(t0 + 2.5, (_proc(1, 9 * MB, 30.0, peak_rss=80 * MB),), peak_rss=320 * MB),
    ]
    for sample in sequence:
        writer.add_sample(sample)
    records = _usage(tmp_path)
    assert [r["num_samples"] for r in records] == [1, 4]  # the first sample alone, as duct does
    writer.finish(
        UsageSummary(t0, t0 + 2.5, 6, 1.0, 0.5, 320 * MB, 100.0 * MB, 900 * MB, 300.0 * MB,
                     None, None, 190.0, 55.5, 1000 * MB, 2, ()),
        exit_code=3, message="m",
    )  # fmt: skip
    records = _usage(tmp_path)
    assert [r["num_samples"] for r in records] == [1, 4, 1]
    second = records[1]
    assert second["timestamp"] == iso_time(t0 + 2.0)
    one, two = second["processes"]["1"], second["processes"]["2"]
    assert one["rss"] == 80 * MB  # the high-water mark rose inside this interval
    assert one["pcpu"] == 50.0
    assert one["stat"] == {"S": 3, "Z": 1}
    assert one["etime"] == "16:42"  # 1002 s after creation
    assert one["cmd"] == "PYTHON JOB1.PY"  # the text function ran
    assert two == {
        "pcpu": 100.0, "pmem": pytest.approx(300 * MB / psutil.virtual_memory().total * 100, abs=1e-3),
        "rss": 300 * MB, "vsz": 900 * MB, "timestamp": iso_time(t0 + 1.0), "etime": "16:41",
        "stat": {"R": 2}, "cmd": "PYTHON JOB2.PY",
    }  # fmt: skip
    assert second["totals"]["rss"] == 320 * MB  # the tree's mark rose in this interval
    assert second["totals"]["pcpu"] == 190.0
    assert second["totals"]["vsz"] == 3 * 312 * MB
    rss = [s.rss for s in sequence[1:5]]
    assert second["averages"]["rss"] == pytest.approx(sum(rss) / 4)
    assert second["averages"]["num_samples"] == 4
    third = records[2]
    assert third["processes"]["1"]["rss"] == 9 * MB  # no new mark: only what was sampled
    assert third["totals"]["rss"] == 9 * MB
    info = json.loads((tmp_path / INFO_FILE).read_text())
    summary = info["execution_summary"]
    assert summary["exit_code"] == 3
    assert summary["num_reports"] == 3
    assert summary["peak_pmem"] == pytest.approx(32.0)
    assert summary["average_pcpu"] == 55.5
    assert summary["wall_clock_time"] == 2.5
    assert info["output_paths"]["usage"] == str(tmp_path / USAGE_FILE)
    assert info["output_paths"]["stdout"] == info["output_paths"]["stderr"] == ""
    assert info["command"] == "JOB"
    assert info["message"] == "M"
    assert info["duct_version"].startswith("otel-kedro ")
    assert not list(tmp_path.glob(".*.tmp"))


def test_default_reports_stay_detailed_for_short_runs_and_few_for_long_ones(tmp_path: Path) -> None:
    counts = {}
    for seconds in (5, 3600):
        folder = tmp_path / str(seconds)
        folder.mkdir()
        writer = ConductWriter(folder, command="c", working_directory="/", text=str)
        for tick in range(seconds * 2 + 1):
            writer.add_sample(_sample(1000.0 + tick / 2, (_proc(1, MB, 1.0),)))
        counts[seconds] = len(_usage(folder))
    assert 5 <= counts[5] <= 7
    assert 250 <= counts[3600] <= 350


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00"), (59.9, "00:59"), (61, "01:01"), (3600, "01:00:00"), (90061, "1-01:01:01")],
)
def test_etime_is_ps_format(seconds: float, text: str) -> None:
    from con_duct._utils import etime_to_etimes

    assert etime(seconds) == text
    assert etime_to_etimes(text) == int(seconds)


def test_a_run_that_ended_before_its_first_sample_is_still_listed(tmp_path: Path) -> None:
    writer = ConductWriter(tmp_path, command="true", working_directory=str(tmp_path), text=str)
    now = time.time()
    summary = UsageSummary(now, now, 0, 0.0, 0.0, 0, 0.0, 0, 0.0, None, None, 0.0, 0.0,
                           psutil.virtual_memory().total, 2, ())  # fmt: skip
    writer.finish(summary, 0)
    writer.close()
    assert (tmp_path / USAGE_FILE).read_text() == ""
    listed = con_duct("ls", "-f", "json", "--", str(tmp_path / INFO_FILE), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["command"] == "true"
    assert row["exit_code"] == "0"
