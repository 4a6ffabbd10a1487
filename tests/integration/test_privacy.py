"""No secret reaches any output: property tests through the real file exporter, and a real run."""

from __future__ import annotations

import secrets
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, Status, StatusCode

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.exporters.otlp_target import OtlpTarget
from otel_kedro.exporters.span_lines import SpanLineExporter
from otel_kedro.model.run_folder import TRACES_FILE
from otel_kedro.processors.apply import ProcessedSpanExporter
from otel_kedro.runs.chains import destination_chain
from otel_kedro.runs.remote import OtlpDelivery
from tests.support.kedro_projects import clean_env, run_folders, run_kedro
from tests.support.otlp_json import read_spans
from tests.support.otlp_receivers import HttpReceiver

_SECRET_ALPHABET = string.ascii_letters + string.digits + "!#$%^*_-"
secret_values = st.text(alphabet=_SECRET_ALPHABET, min_size=12, max_size=40).filter(
    lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s)
)

TEMPLATES = [
    ("process.command_args", lambda s: ["kedro", "run", "--params", f"db_password={s}"]),
    ("process.command_args", lambda s: ["kedro", "run", f"--params=token={s},x=1"]),
    ("process.command_args", lambda s: ["/opt/tools/bin/sync", "--api-key", s, "target"]),
    ("process.command_line", lambda s: f"kedro run --params 'api_key={s}'"),
    ("kedro.dataset.filepath", lambda s: f"postgresql://analyst:{s}@db.internal:5432/sales"),
    ("exception.message", lambda s: f"connection to postgresql://admin:{s}@db/x failed"),
    ("exception.message", lambda s: f"bad settings {{'fail': True, 'password': '{s}'}}"),
    ("http.request.header.authorization", lambda s: [f"Bearer {s}"]),
    ("message", lambda s: f"retrying with Authorization: Bearer {s} after 401"),
    ("env.AWS_SECRET_ACCESS_KEY", lambda s: s),
    ("config", lambda s: f'{{"client_secret": "{s}", "region": "eu"}}'),
]


def _files_chain():  # the files destination's default chain, as runs use it
    privacy = PrivacySettings()
    return destination_chain(privacy, "files")


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=secret_values,
    template=st.sampled_from(range(len(TEMPLATES))),
    where=st.sampled_from(["span", "event", "status", "resource", "link"]),
)
@example(secret="-0000000000A", template=2, where="status")  # noqa: S106 - kept after --api-key once
def test_a_secret_reaches_no_byte_of_the_trace_file(secret: str, template: int, where: str) -> None:
    key, make = TEMPLATES[template]
    value = make(secret)
    with tempfile.TemporaryDirectory() as folder:
        exporter = ProcessedSpanExporter(
            SpanLineExporter(Path(folder) / TRACES_FILE), _files_chain()
        )
        resource_attributes = {"service.name": "demo"}
        if where == "resource":
            resource_attributes[key] = value  # type: ignore[assignment]
        provider = TracerProvider(resource=Resource(resource_attributes))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("test")
        linked = tracer.start_span("linked")
        linked.end()
        links = [Link(linked.get_span_context(), {key: value})] if where == "link" else []
        span = tracer.start_span("node", links=links)
        if where == "span":
            span.set_attribute(key, value)
        elif where == "event":
            span.add_event("exception", {key: value})
        elif where == "status":
            text = value if isinstance(value, str) else " ".join(value)
            span.set_status(Status(StatusCode.ERROR, f"{key}={text}"))
        span.end()
        provider.shutdown()
        written = (Path(folder) / "traces.jsonl").read_bytes()
    assert secret.encode() not in written
    if where != "status":  # free text is scrubbed, not parsed as a command line
        assert b"/opt/tools/bin" not in written


def test_a_real_run_leaks_neither_params_nor_credentials(example_project: Path) -> None:
    password = "Pw" + secrets.token_urlsafe(16)
    credential = "Cr" + secrets.token_urlsafe(16)
    (example_project / "conf" / "local" / "credentials.yml").write_text(
        f"warehouse:\n  con: postgresql://etl:{credential}@warehouse:5432/sales\n"
    )
    result = run_kedro(
        example_project,
        "run",
        "--params",
        f"quality.fail=true,quality.password={password}",
        env=clean_env(),
    )
    assert result.returncode == 1
    assert password in result.stdout + result.stderr, "the user's own terminal output is unchanged"

    outputs = [p for p in (example_project / ".otel_kedro").rglob("*") if p.is_file()]
    assert outputs
    for path in outputs:
        content = path.read_bytes()
        assert password.encode() not in content, path
        assert credential.encode() not in content, path

    spans = read_spans(run_folders(example_project)[0] / "traces.jsonl")
    command = next(s for s in spans if s.name == "kedro run")
    assert command.attributes["process.command_args"] == ["kedro", "run", "--params", "*****"]
    failed = next(s for s in spans if s.name == "check_quality")
    message = failed.events[0][1]["exception.message"]
    assert "sales quality check failed" in message
    assert "'password': '*****'" in message


def test_resource_goes_through_the_chain_too(example_project: Path) -> None:
    (example_project / "conf" / "base" / "otel.yml").write_text(
        "privacy:\n  files:\n    processors: [mask_args, scrub_secrets, hash_identifiers]\n"
    )
    config = example_project / "user-config"
    result = run_kedro(
        example_project,
        "run",
        "--pipeline",
        "data_processing",
        env=clean_env(OTEL_KEDRO_CONFIG_DIR=str(config)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    spans = read_spans(run_folders(example_project)[0] / "traces.jsonl")
    resource = spans[0].resource
    import getpass
    import socket

    assert resource["host.name"].startswith("hmac:")
    assert resource["host.name"] != socket.gethostname()
    assert resource["process.owner"].startswith("hmac:")
    content = (run_folders(example_project)[0] / "traces.jsonl").read_text()
    assert f'"{getpass.getuser()}"' not in content
    assert (config / "identifier-hash.key").is_file()
    key = (config / "identifier-hash.key").read_text().strip()
    assert key not in content
    assert "service.instance.id" not in resource, "the resource is ours, not the SDK's defaults"


def test_allow_listed_arguments_survive_masking(example_project: Path) -> None:
    # Without the files' kept run options, only the allow-listed value survives.
    with (example_project / "conf" / "base" / "otel.yml").open("a") as otel_yml:
        otel_yml.write("privacy:\n  files:\n    keep_run_options: []\n")
    env = clean_env(OTEL_KEDRO_ALLOW_ARGS="data_processing")
    result = run_kedro(
        example_project, "run", "--pipeline", "data_processing", "--env", "local", env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    spans = read_spans(run_folders(example_project)[0] / "traces.jsonl")
    command = next(s for s in spans if s.name == "kedro run")
    assert command.attributes["process.command_args"] == [
        "kedro", "run", "--pipeline", "data_processing", "--env", "*****",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secret_values, template=st.sampled_from(range(len(TEMPLATES))))
def test_a_secret_reaches_no_byte_sent_over_otlp(
    receiver: HttpReceiver, secret: str, template: int
) -> None:
    receiver.requests.clear()
    key, make = TEMPLATES[template]
    value = make(secret)
    privacy = PrivacySettings()
    with tempfile.TemporaryDirectory() as folder:
        exporter = ProcessedSpanExporter(
            SpanLineExporter(Path(folder) / TRACES_FILE), _files_chain()
        )
        provider = TracerProvider(resource=Resource({"service.name": "demo", key: value}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        span = provider.get_tracer("test").start_span("node", attributes={key: value})
        span.add_event("exception", {key: value})
        span.set_status(Status(StatusCode.ERROR, f"{key}={value}"))
        span.end()
        provider.shutdown()
        target = OtlpTarget(
            "http/protobuf", receiver.endpoint + "/v1/traces", receiver.endpoint + "/v1/metrics"
        )
        OtlpDelivery(target, destination_chain(privacy, "otlp")).deliver_run(Path(folder))
        sent = b"".join(request.SerializeToString() for request in receiver.requests)
    assert sent
    assert secret.encode() not in sent
