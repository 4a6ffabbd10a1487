"""Known-value redaction through real runs: a ``--params`` value, a credential, an OTLP header
value and endpoint userinfo reach no file of the run folder and no byte a collector receives,
under every runner (ParallelRunner workers redact the spans they end themselves).
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.kedro_projects import (
    BIN,
    clean_env,
    remote_env,
    run_folders,
    run_kedro,
    write_project,
)
from tests.support.otlp_receivers import HttpReceiver

PARAM_VALUE = "pvhmswruuozy"  # issue 10, case 1: a value no pattern could recognise
CREDENTIAL = "qzkvbnwexyrt"  # a credentials.yml password of the same kind
HEADER_VALUE = "hdrvalueqwmzpl"
ENDPOINT_USER = "otuser"
ENDPOINT_PASSWORD = "EpPw7Qx9Lm2Zr5Tk"  # noqa: S105 - issue 10, case 3

REGISTRY = """
    import os

    from kedro.io import AbstractDataset
    from kedro.pipeline import node, pipeline


    class CredsDataset(AbstractDataset):
        '''Loads the credentials it was given, as a database dataset holds them.'''

        def __init__(self, credentials=None):
            self._credentials = dict(credentials or {})

        def load(self):
            return self._credentials

        def save(self, data):
            raise NotImplementedError

        def _describe(self):
            return {}


    def fail_node(df, quality):
        raise RuntimeError("params " + str(dict(quality)))


    def leak_node(df, quality):
        headers = os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")
        raise RuntimeError(f"cannot connect with {df}; headers {headers}")


    def register_pipelines():
        fail = pipeline([node(fail_node, ["creds_ds", "params:quality"], "out", name="fail_node")])
        leak = pipeline([node(leak_node, ["creds_ds", "params:quality"], "out", name="leak_node")])
        return {"__default__": fail, "fail": fail, "leak": leak}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = write_project(tmp_path, "redact_demo", REGISTRY)
    conf = project / "conf"
    (conf / "base" / "catalog.yml").write_text(
        textwrap.dedent(
            """
            creds_ds:
              type: redact_demo.pipeline_registry.CredsDataset
              credentials: db_creds
            """
        )
    )
    (conf / "base" / "parameters.yml").write_text("quality:\n  fail: true\n  note: none\n")
    (conf / "local" / "credentials.yml").write_text(
        f"db_creds:\n  user: analyst\n  account: {CREDENTIAL}\n"
    )
    (project / ".telemetry").write_text("consent: false\n")  # kedro-telemetry stays silent
    return project


def _wait_for(receiver: HttpReceiver) -> None:
    deadline = time.monotonic() + 20
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.05)


def _leaks(folder: Path, values: list[str]) -> dict[str, list[str]]:
    """Which of ``values`` each file of ``folder`` contains (every file, whatever it is)."""
    found: dict[str, list[str]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            hits = [value for value in values if value in text]
            if hits:
                found[path.name] = hits
    return found


def _exception_messages(folder: Path) -> list[str]:
    messages: list[str] = []
    for line in (folder / "traces.jsonl").read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    for event in span.get("events", []):
                        messages.extend(
                            kv["value"]["stringValue"]
                            for kv in event.get("attributes", [])
                            if kv["key"] == "exception.message"
                        )
    return messages


@pytest.mark.parametrize(
    ("runner", "context"),
    [("SequentialRunner", None), ("ParallelRunner", "fork"), ("ParallelRunner", "spawn")],
)
def test_a_params_value_leaks_through_no_exception(
    project: Path, tmp_path: Path, runner: str, context: str | None
) -> None:
    """Case 1: the node's exception quotes the params; the value reaches no file and no body."""
    with HttpReceiver() as receiver:
        env = remote_env(
            tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_KEDRO_DELIVERY_WAIT="10"
        )
        if context:
            env["KEDRO_MP_CONTEXT"] = context
        result = run_kedro(
            project,
            "run",
            "--pipeline",
            "fail",
            "--runner",
            runner,
            "--params",
            f"quality.note={PARAM_VALUE}",
            env=env,
        )
        assert result.returncode != 0, "the node fails, as without the plugin"
        assert PARAM_VALUE in result.stderr, "the user's own traceback is unchanged"
        _wait_for(receiver)
    (folder,) = run_folders(project)
    messages = _exception_messages(folder)
    assert any("params {'fail': True, 'note': '*****'}" in m for m in messages), messages
    assert _leaks(folder, [PARAM_VALUE]) == {}
    # Kedro logs the node's failure with its message: the log record is redacted too.
    logged = (folder / "logs.jsonl").read_text()
    assert "'note': '*****'" in logged
    assert receiver.requests, "the run was delivered"
    assert receiver.log_requests, "its log records were delivered"
    for request in [*receiver.requests, *receiver.metric_requests, *receiver.log_requests]:
        assert PARAM_VALUE.encode() not in request.SerializeToString()


def test_credentials_headers_and_endpoint_userinfo_are_redacted_everywhere(
    project: Path, tmp_path: Path
) -> None:
    """Credentials and OTLP secrets quoted by a node reach no file, no body, no console line;
    case 3: the endpoint's password is no key of delivery.json and replay never prints it.
    """
    secrets = [CREDENTIAL, HEADER_VALUE, ENDPOINT_PASSWORD]
    with HttpReceiver() as receiver:
        host = receiver.endpoint.removeprefix("http://")
        endpoint = f"http://{ENDPOINT_USER}:{ENDPOINT_PASSWORD}@{host}"
        env = remote_env(
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={HEADER_VALUE}",
            OTEL_KEDRO_DELIVERY_WAIT="10",
        )
        result = run_kedro(project, "run", "--pipeline", "leak", env=env)
        assert result.returncode != 0
        _wait_for(receiver)
        assert receiver.headers[0]["x-api-key"] == HEADER_VALUE, "the header is still sent"
        (folder,) = run_folders(project)
        replayed = [
            _replay(project, env, "--all"),
            _replay(project, env, "--all", "--force"),
            _replay(project, env, str(folder), "--force"),
        ]
    messages = _exception_messages(folder)
    assert any("cannot connect with {'user': '*****', 'account': '*****'}" in m for m in messages)
    assert _leaks(folder, secrets) == {}
    delivery = json.loads((folder / "delivery.json").read_text())
    assert f"otlp http/protobuf {receiver.endpoint}/v1/traces" in delivery
    assert not any(ENDPOINT_PASSWORD in key or ENDPOINT_USER in key for key in delivery)
    for request in receiver.requests + receiver.metric_requests:
        body = request.SerializeToString()
        assert not [s for s in secrets if s.encode() in body]
    # The user's own traceback quotes what the node raised; our lines never do.
    ours = [line for line in result.stderr.splitlines() if "otel-kedro" in line]
    for output in ["\n".join(ours), *replayed]:
        assert ENDPOINT_PASSWORD not in output
        assert HEADER_VALUE not in output
    assert "sent" in replayed[1]
    assert receiver.endpoint in replayed[1]


def _replay(project: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "otel-kedro"), "replay", *args, "--project", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_example_check_quality_message_is_redacted(example_project: Path) -> None:
    """The example's own check_quality quotes its settings the same way: a runtime value of
    them reaches no file.
    """
    env = clean_env()
    result = run_kedro(
        example_project,
        "run",
        "--pipeline",
        "data_processing",
        "--params",
        f"quality.fail=true,quality.owner={PARAM_VALUE}",
        env=env,
    )
    assert result.returncode != 0
    assert PARAM_VALUE in result.stderr
    (folder,) = run_folders(example_project)
    assert any("'owner': '*****'" in m for m in _exception_messages(folder))
    assert _leaks(folder, [PARAM_VALUE]) == {}
