"""``otel-kedro run`` as a drop-in for con-duct's ``duct``: its behaviours, side by side with the
real ``duct`` (con-duct is in the test extra), and the trace it adds.

con-duct's own end-to-end tests (``test/duct_main/test_e2e.py``) cannot be fetched at test time
here (no GitHub), so the ones that describe duct's behaviour are mirrored: children spawned
plain, in a subshell, under ``nohup`` and ``setsid``; both session modes; quiet and log levels;
plus exit codes, forwarded signals, captured outputs and con-duct's readers on our files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.kedro_projects import BIN, clean_env, run_folders, write_project
from tests.support.otlp_json import read_spans

SPAWN_CHILDREN = """\
#!/bin/sh
# mode count command...: start `count` copies of the command the way `mode` says, plus one
# plain copy, then wait (what con-duct's own test script does).
mode=$1
count=$2
shift 2
"$@" &
i=0
while [ "$i" -lt "$count" ]; do
    case "$mode" in
        subshell) ( "$@" & ) ;;
        nohup) ( nohup "$@" >/dev/null 2>&1 & ) & ;;
        setsid) setsid "$@" & ;;
        plain) "$@" & ;;
    esac
    i=$((i + 1))
done
wait
"""
SUMMARY_LABELS = (
    "Summary:",
    "Exit Code:",
    "Command:",
    "Log files location:",
    "Wall Clock Time:",
    "Memory Peak Usage (RSS):",
    "Memory Average Usage (RSS):",
    "Virtual Memory Peak Usage (VSZ):",
    "Virtual Memory Average Usage (VSZ):",
    "Memory Peak Percentage:",
    "Memory Average Percentage:",
    "CPU Peak Usage:",
    "Average CPU Usage:",
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in clean_env().items() if not k.startswith("DUCT_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # duct execs con-duct from PATH
    env.update(extra)
    return env


def wrap(
    *args: str, cwd: Path, env: dict[str, str] | None = None, tool: str = "otel-kedro"
) -> subprocess.CompletedProcess[str]:
    """``otel-kedro run ARGS`` (or ``duct ARGS`` with tool="duct") in ``cwd``."""
    argv = [str(BIN / "otel-kedro"), "run"] if tool == "otel-kedro" else [str(BIN / "duct")]
    return subprocess.run(
        [*argv, *args],
        cwd=cwd,
        env=_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def usage_records(prefix: Path | str) -> list[dict[str, object]]:
    lines = Path(f"{prefix}usage.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def info(prefix: Path | str) -> dict[str, object]:
    return json.loads(Path(f"{prefix}info.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture
def spawn_script(tmp_path: Path) -> Path:
    script = tmp_path / "spawn_children.sh"
    script.write_text(SPAWN_CHILDREN)
    script.chmod(0o755)
    return script


TOOLS = ("otel-kedro", "duct")


class TestFiles:
    def test_sanity_same_files_as_duct(self, tmp_path: Path) -> None:
        """Both tools write the same con-duct files under the same prefix; we add the trace and
        metrics; every line of every JSON file parses.
        """
        names = {}
        for tool in TOOLS:
            prefix = tmp_path / f"{tool}_"
            result = wrap("-p", str(prefix), "sleep", "0.1", cwd=tmp_path, tool=tool)
            assert result.returncode == 0, result.stderr
            names[tool] = {p.name.removeprefix(f"{tool}_") for p in tmp_path.glob(f"{tool}_*")}
        assert names["duct"] == {"info.json", "usage.jsonl", "stdout", "stderr"}
        assert names["otel-kedro"] == names["duct"] | {"traces.jsonl", "metrics.jsonl"}
        ours = info(tmp_path / "otel-kedro_")
        theirs = info(tmp_path / "duct_")
        assert ours.keys() == theirs.keys()
        assert ours["execution_summary"].keys() == theirs["execution_summary"].keys()  # type: ignore[attr-defined]
        assert ours["output_paths"] == {
            "stdout": f"{tmp_path}/otel-kedro_stdout",
            "stderr": f"{tmp_path}/otel-kedro_stderr",
            "usage": f"{tmp_path}/otel-kedro_usage.jsonl",
            "info": f"{tmp_path}/otel-kedro_info.json",
            "prefix": f"{tmp_path}/otel-kedro_",
        }
        for line in Path(f"{tmp_path}/otel-kedro_metrics.jsonl").read_text().splitlines():
            assert json.loads(line)["resourceMetrics"]

    def test_default_prefix_and_placeholders(self, tmp_path: Path) -> None:
        """Without -p, files go under duct's default .duct/logs/{datetime}-{pid}_; the
        placeholders are filled the same way (a folder prefix with a trailing slash too).
        """
        result = wrap("true", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        infos = list((tmp_path / ".duct" / "logs").glob("*_info.json"))
        assert len(infos) == 1
        stamp, pid = infos[0].name.removesuffix("_info.json").rsplit("-", 1)
        assert pid.isdigit()
        assert time.strptime(stamp, "%Y.%m.%dT%H.%M.%S")
        result = wrap("-p", "runs/{datetime_filesafe}/{pid}/", "true", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        (folder,) = (tmp_path / "runs").glob("*/*/")
        assert (folder / "info.json").is_file()
        assert (folder / "traces.jsonl").is_file()

    def test_clobber_like_duct(self, tmp_path: Path) -> None:
        """A second run on the same files is refused (exit 1, the conflicting files named)
        unless --clobber, as duct does.
        """
        for tool in TOOLS:
            prefix = str(tmp_path / f"{tool}_")
            assert wrap("-p", prefix, "true", cwd=tmp_path, tool=tool).returncode == 0
            again = wrap("-p", prefix, "true", cwd=tmp_path, tool=tool)
            assert again.returncode == 1, tool
            assert "Conflicting files" in again.stderr
            assert "--clobber" in again.stderr
            assert wrap("--clobber", "-p", prefix, "true", cwd=tmp_path, tool=tool).returncode == 0

    def test_quick_failure_removes_files_like_duct(self, tmp_path: Path) -> None:
        """A command failing within --fail-time leaves no files (exit code kept); with
        --fail-time 0 they stay.
        """
        for tool in TOOLS:
            prefix = tmp_path / f"{tool}_"
            result = wrap("-p", str(prefix), "false", cwd=tmp_path, tool=tool)
            assert result.returncode == 1
            assert not list(tmp_path.glob(f"{tool}_*")), tool
            result = wrap("--f-t", "0", "-p", str(prefix), "false", cwd=tmp_path, tool=tool)
            assert result.returncode == 1
            assert info(prefix)["execution_summary"]["exit_code"] == 1  # type: ignore[index]

    def test_record_types(self, tmp_path: Path) -> None:
        """-t system-summary writes info.json and no usage records; -t processes-samples writes
        usage records and no info.json content.
        """
        summary = tmp_path / "s_"
        assert (
            wrap(
                "-t", "system-summary", "-p", str(summary), "sleep", "0.3", cwd=tmp_path
            ).returncode
            == 0
        )
        assert info(summary)["execution_summary"]["exit_code"] == 0  # type: ignore[index]
        assert usage_records(summary) == []
        samples = tmp_path / "p_"
        args = ("-t", "processes-samples", "--s-i", "0.05", "--r-i", "0.1", "-p", str(samples))
        assert wrap(*args, "sleep", "0.3", cwd=tmp_path).returncode == 0
        assert usage_records(samples)
        assert Path(f"{samples}info.json").read_text() == ""

    def test_message_and_duct_environment(self, tmp_path: Path) -> None:
        """DUCT_* variables set the defaults, as for duct: prefix, message, capture, intervals."""
        env = _env(
            DUCT_OUTPUT_PREFIX=f"{tmp_path}/env_",
            DUCT_MESSAGE="nightly rebuild",
            DUCT_CAPTURE_OUTPUTS="none",
            DUCT_SAMPLE_INTERVAL="0.05",
            DUCT_REPORT_INTERVAL="0.1",
            DUCT_LOG_LEVEL="WARNING",
        )
        result = wrap("sh", "-c", "echo shown; sleep 0.4", cwd=tmp_path, env=env)
        assert result.returncode == 0
        assert result.stdout == "shown\n"
        assert "Summary:" not in result.stderr
        document = info(tmp_path / "env_")
        assert document["message"] == "nightly rebuild"
        assert document["output_paths"]["stdout"] == ""  # type: ignore[index]
        assert not Path(f"{tmp_path}/env_stdout").exists()
        assert len(usage_records(tmp_path / "env_")) >= 3  # reports every 0.1 s over 0.4 s


class TestChildren:
    @pytest.mark.parametrize("mode", ["plain", "subshell", "nohup", "setsid"])
    @pytest.mark.parametrize("count", [1, 2, 10])
    def test_spawned_children_are_seen(
        self, tmp_path: Path, spawn_script: Path, mode: str, count: int
    ) -> None:
        """con-duct's test_spawn_children: every sleeping child is in the usage records (one
        more for the plain copy), those a subshell or nohup left to init too; under setsid duct
        sees only the plain copy, ours also the setsid children (still in the process tree).
        """
        prefix = tmp_path / "log_"
        args = ("-q", "--s-i", "0.01", "--r-i", "0.02", "-p", str(prefix))
        result = wrap(*args, str(spawn_script), mode, str(count), "sleep", "0.5", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        pids = {
            pid
            for record in usage_records(prefix)
            for pid, process in record["processes"].items()  # type: ignore[attr-defined]
            if process["cmd"].startswith("sleep")
        }
        assert len(pids) == count + 1

    @pytest.mark.parametrize("mode", ["new-session", "current-session"])
    def test_session_modes(self, tmp_path: Path, mode: str) -> None:
        """con-duct's test_session_modes, plus where the child runs: a session of its own, or
        ours.
        """
        prefix = tmp_path / "log_"
        probe = tmp_path / "sid.txt"
        code = (
            f"import os, time; open({str(probe)!r}, 'w').write(str(os.getsid(0))); time.sleep(0.3)"
        )
        args = ("-q", "--s-i", "0.01", "--r-i", "0.05", "--mode", mode, "-p", str(prefix))
        result = wrap(*args, sys.executable, "-c", code, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        records = usage_records(prefix)
        assert records
        for record in records:
            assert {"timestamp", "processes", "totals"} <= record.keys()
        document = info(prefix)
        assert document["execution_summary"]["exit_code"] == 0  # type: ignore[index]
        assert "python" in document["command"]  # type: ignore[operator]
        child_sid = int(probe.read_text())
        assert (child_sid == os.getsid(0)) == (mode == "current-session")


class TestOutputAndLogs:
    def test_logging_levels(self, tmp_path: Path) -> None:
        """con-duct's test_logging_levels: INFO prints the summary; --quiet and -l NONE print
        nothing at all on stderr.
        """
        prefix = str(tmp_path / "log_")
        result = wrap("-p", prefix, "sleep", "0.1", cwd=tmp_path)
        assert result.returncode == 0
        assert "Summary" in result.stderr
        assert "Exit Code:" in result.stderr
        for quiet in (["--quiet"], ["--log-level", "NONE"], ["-l", "none"]):
            result = wrap(*quiet, "--clobber", "-p", prefix, "sleep", "0.1", cwd=tmp_path)
            assert result.returncode == 0
            assert result.stderr == ""

    def test_summary_lines_are_ducts(self, tmp_path: Path) -> None:
        """The end-of-run summary has duct's lines, in duct's order, with the same values where
        they are not measurements; a custom --summary-format is filled the same way.
        """
        blocks = {}
        for tool in TOOLS:
            prefix = f"{tmp_path}/{tool}_"
            result = wrap("--f-t", "0", "-p", prefix, "sh", "-c", "exit 3", cwd=tmp_path, tool=tool)
            assert result.returncode == 3
            lines = result.stderr[result.stderr.index("Summary:") :].splitlines()
            blocks[tool] = lines[: len(SUMMARY_LABELS)]
            assert [line.split(":")[0] + ":" for line in blocks[tool]] == list(SUMMARY_LABELS)
            assert blocks[tool][1] == "Exit Code: 3"
            assert blocks[tool][3] == f"Log files location: {prefix}"
        template = "{exit_code!E}|{peak_rss!S}|{wall_clock_time:.1f}|{missing_is_error}"
        for tool in TOOLS:
            result = wrap(
                "--summary-format", "code={exit_code!E} prefix={logs_prefix}", "-p",
                f"{tmp_path}/fmt_{tool}_", "true", cwd=tmp_path, tool=tool,
            )  # fmt: skip
            assert f"code=0 prefix={tmp_path}/fmt_{tool}_" in result.stderr
        assert template  # a template naming an unknown key is reported, not a crash (below)
        result = wrap("--summary-format", template, "-p", f"{tmp_path}/bad_", "true", cwd=tmp_path)
        assert result.returncode == 0
        assert "Exit Code: 0" in result.stderr

    @pytest.mark.parametrize(
        ("capture", "show", "in_file", "on_screen"),
        [
            ("all", "all", True, True),
            ("all", "none", True, False),
            ("none", "all", False, True),
            ("stdout", "stderr", True, False),
        ],
    )
    def test_capture_and_outputs_like_duct(
        self, tmp_path: Path, capture: str, show: str, in_file: bool, on_screen: bool
    ) -> None:
        """-c decides what is written to {prefix}stdout, -o what is shown; both tools agree."""
        for tool in TOOLS:
            prefix = f"{tmp_path}/{tool}_"
            result = wrap(
                "-c", capture, "-o", show, "-p", prefix, "sh", "-c", "echo out-text; echo err-text >&2",
                cwd=tmp_path, tool=tool,
            )  # fmt: skip
            assert result.returncode == 0
            stdout_file = Path(f"{prefix}stdout")
            assert (stdout_file.is_file() and stdout_file.read_text() == "out-text\n") == in_file
            assert (result.stdout == "out-text\n") == on_screen, (tool, result.stdout)

    @pytest.mark.parametrize(("capture", "tty"), [("none", True), ("stderr", True), ("all", False)])
    def test_child_keeps_the_terminal_unless_captured(
        self, tmp_path: Path, capture: str, tty: bool
    ) -> None:
        """With stdout not captured, the command writes to our terminal itself (isatty)."""
        import pty

        primary, secondary = pty.openpty()
        probe = tmp_path / "isatty.txt"
        code = f"import sys; open({str(probe)!r}, 'w').write(str(sys.stdout.isatty()))"
        process = subprocess.Popen(
            [str(BIN / "otel-kedro"), "run", "-q", "-c", capture, "-p", f"{tmp_path}/t_",
             sys.executable, "-c", code],
            stdout=secondary, stderr=subprocess.DEVNULL, cwd=tmp_path, env=_env(),
        )  # fmt: skip
        os.close(secondary)
        assert process.wait(timeout=60) == 0
        os.close(primary)
        assert probe.read_text() == str(tty)


class TestExitAndSignals:
    @pytest.mark.parametrize(
        ("argv", "expected"),
        [
            (["sh", "-c", "exit 7"], 7),
            (["sh", "-c", "kill -TERM $$"], 128 + signal.SIGTERM),
            (["sh", "-c", "kill -KILL $$"], 128 + signal.SIGKILL),
            (["no-such-command-anywhere"], 127),
        ],
    )
    def test_exit_status_is_the_commands_as_duct_and_a_shell_give(
        self, tmp_path: Path, argv: list[str], expected: int
    ) -> None:
        """The exit status passes through; a child killed by signal N gives 128 + N."""
        for tool in TOOLS:
            result = wrap(
                "-q", "--f-t", "0", "-p", f"{tmp_path}/{tool}_", *argv, cwd=tmp_path, tool=tool
            )
            assert result.returncode == expected, (tool, result.stderr)
        if expected != 127:
            document = info(f"{tmp_path}/otel-kedro_")
            assert document["execution_summary"]["exit_code"] == expected  # type: ignore[index]

    @pytest.mark.parametrize(
        "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT]
    )
    @pytest.mark.parametrize("mode", ["new-session", "current-session"])
    def test_signals_reach_the_child_and_files_complete(
        self, tmp_path: Path, signum: int, mode: str
    ) -> None:
        """A signal to the wrapper reaches the command (and its children, through its process
        group); the wrapper waits for it, exits with its status and writes every file.
        """
        ready = tmp_path / "ready"
        got = tmp_path / "got.txt"
        grandchild = tmp_path / "grandchild.txt"
        child = textwrap.dedent(
            f"""
            import os, signal, subprocess, sys, time
            sub = subprocess.Popen([sys.executable, "-c",
                "import signal, sys, time\\n"
                "def h(n, f):\\n"
                "    open({str(grandchild)!r}, 'w').write(str(n)); sys.exit(0)\\n"
                "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):\\n"
                "    signal.signal(s, h)\\n"
                "time.sleep(60)\\n"])
            def handler(n, f):
                open({str(got)!r}, "w").write(str(n))
                if {mode!r} == "current-session":  # we are its only recipient: pass it on
                    sub.send_signal(n)
                sub.wait(timeout=30)
                os._exit(100 + n)
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
                signal.signal(s, handler)
            time.sleep(0.5)
            open({str(ready)!r}, "w").write("ready")
            time.sleep(60)
            """
        )
        prefix = tmp_path / "log_"
        process = subprocess.Popen(
            [str(BIN / "otel-kedro"), "run", "-q", "--f-t", "0", "--mode", mode, "--s-i", "0.05",
             "-p", str(prefix), sys.executable, "-c", child],
            cwd=tmp_path, env=_env(), start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, "the wrapper ended early"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signum)
        assert process.wait(timeout=60) == 100 + signum
        assert got.read_text() == str(signum)
        assert grandchild.read_text() == str(signum)  # new-session: through the group
        document = info(prefix)
        assert document["execution_summary"]["exit_code"] == 100 + signum  # type: ignore[index]
        assert usage_records(prefix)
        (span,) = read_spans(Path(f"{prefix}traces.jsonl"))
        assert span.attributes["process.exit.code"] == 100 + signum

    def test_a_killed_wrapper_child_is_not_left_running_after_sigterm(self, tmp_path: Path) -> None:
        """After SIGTERM the wrapper exits only once the command has: nothing is orphaned."""
        pid_file = tmp_path / "pid"
        process = subprocess.Popen(
            [str(BIN / "otel-kedro"), "run", "-q", "-p", f"{tmp_path}/k_", "sh", "-c",
             f"echo $$ > {pid_file}; sleep 60"],
            cwd=tmp_path, env=_env(),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
        child = int(pid_file.read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)


class TestTraceAndReaders:
    def test_command_span_masked_and_nested_under_inbound(self, tmp_path: Path) -> None:
        """One span: the executable and option names kept, values masked (allow-listed ones
        kept); under an inbound TRACEPARENT; no secret in any file.
        """
        inbound_trace, inbound_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
        env = _env(
            TRACEPARENT=f"00-{inbound_trace}-{inbound_span}-01",
            OTEL_KEDRO_ALLOW_ARGS="keep-me",
        )
        prefix = tmp_path / "log_"
        result = wrap(
            "-p", str(prefix), "sh", "-c", "echo hi", "--token=hunter2secret", "keep-me",
            cwd=tmp_path, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (span,) = read_spans(Path(f"{prefix}traces.jsonl"))
        assert span.trace_id == inbound_trace
        assert span.parent_id == inbound_span
        assert span.name == "sh"
        assert span.attributes["process.command_args"] == [
            "sh", "-c", "*****", "--token", "*****", "keep-me"
        ]  # fmt: skip
        assert span.attributes["process.exit.code"] == 0
        for path in tmp_path.glob("log_*"):
            assert "hunter2secret" not in path.read_text(), path
        assert "hunter2secret" not in result.stderr

    def test_disabled_writes_only_ducts_files(self, tmp_path: Path) -> None:
        """OTEL_SDK_DISABLED=true: duct's files still, no trace or metrics, and the command is
        not told about a span that does not exist.
        """
        probe = tmp_path / "traceparent.txt"
        code = f"import os; open({str(probe)!r}, 'w').write(os.environ.get('TRACEPARENT', '-'))"
        prefix = tmp_path / "off_"
        result = wrap(
            "-p", str(prefix), sys.executable, "-c", code,
            cwd=tmp_path, env=_env(OTEL_SDK_DISABLED="true"),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert probe.read_text() == "-"
        assert info(prefix)["execution_summary"]["exit_code"] == 0  # type: ignore[index]
        assert not Path(f"{prefix}traces.jsonl").exists()
        assert not Path(f"{prefix}metrics.jsonl").exists()

    def test_kedro_run_nests_under_the_command_span(self, tmp_path: Path) -> None:
        """A real ``kedro run`` with otel-kedro, wrapped, puts its command span under ours."""
        project = write_project(
            tmp_path,
            "wrapped",
            """
            from kedro.pipeline import Pipeline, node

            def double(x):
                return 2 * x

            def register_pipelines():
                return {"__default__": Pipeline([node(double, "params:x", "y", name="double")])}
            """,
        )
        (project / "conf" / "base" / "parameters.yml").write_text("x: 21\n")
        prefix = tmp_path / "wrap_"
        result = wrap("-p", str(prefix), str(BIN / "kedro"), "run", cwd=project)
        assert result.returncode == 0, result.stderr[-3000:]
        (ours,) = read_spans(Path(f"{prefix}traces.jsonl"))
        assert ours.name == "kedro run"
        kedro_spans = read_spans(run_folders(project)[0] / "traces.jsonl")
        command = next(s for s in kedro_spans if s.name == "kedro run")
        assert command.trace_id == ours.trace_id
        assert command.parent_id == ours.span_id
        assert {s.trace_id for s in kedro_spans} == {ours.trace_id}
        assert any(s.name == "double" for s in kedro_spans)

    def test_start_up_path_imports_no_sdk_click_or_psutil(self, tmp_path: Path) -> None:
        """The modules that would cost ``otel-kedro run true`` most are never imported by it
        (the structural half of its 100 ms budget; benchmarks/wrapper_startup.py times it).
        Run without the suite's subprocess coverage, which imports hashlib, platform and more.
        """
        env = {k: v for k, v in _env().items() if not k.startswith("COVERAGE_PROCESS_")}
        result = subprocess.run(
            [sys.executable, "-X", "importtime", str(BIN / "otel-kedro"), "run", "-q", "-p",
             f"{tmp_path}/i_", "true"],
            capture_output=True, text=True, cwd=tmp_path, env=env, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
        assert "otel_kedro.runs.wrapped" in imported
        heavy = {
            name
            for name in imported
            if name.split(".")[0] in {"opentelemetry", "click", "psutil", "kedro"}
        } - {"opentelemetry", "opentelemetry.util", "opentelemetry.util.types"}  # type aliases
        assert heavy == set()
        # Nor what start-up was measured to do without (hashing, platform facts, host and user).
        assert imported.isdisjoint(
            {
                "hashlib",
                "hmac",
                "secrets",
                "platform",
                "socket",
                "getpass",
                "otel_kedro.processors.identifiers",
            }
        )
        assert Path(f"{tmp_path}/i_traces.jsonl").is_file()
        assert Path(f"{tmp_path}/i_metrics.jsonl").is_file()

    def test_con_duct_readers_accept_our_files(self, tmp_path: Path) -> None:
        """con-duct ls, pp and plot read what otel-kedro run wrote."""
        prefix = tmp_path / "logs" / "run1_"
        code = "import time; b = bytearray(50_000_000); time.sleep(0.5)"
        args = ("--s-i", "0.05", "--r-i", "0.1", "-p", str(prefix), sys.executable, "-c", code)
        assert wrap(*args, cwd=tmp_path).returncode == 0
        env = _env()
        listing = subprocess.run(
            [str(BIN / "con-duct"), "ls", "--format", "json", f"{prefix}info.json"],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        (row,) = json.loads(listing.stdout)
        assert row["exit_code"] == "0"
        assert row["prefix"] == str(prefix)
        value, unit = row["peak_rss"].split()  # con-duct's human size, e.g. "58.2 MB"
        assert unit == "MB"
        assert float(value) >= 50
        pretty = subprocess.run(
            [str(BIN / "con-duct"), "pp", f"{prefix}info.json"],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        assert "execution_summary" in pretty.stdout
        plot = tmp_path / "usage.png"
        subprocess.run(
            [str(BIN / "con-duct"), "plot", "--output", str(plot), f"{prefix}info.json"],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        assert plot.stat().st_size > 1000
