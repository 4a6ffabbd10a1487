"""The Collector configurations in ``collector-config/`` against what can be checked without a
Collector: every component exists in the pinned otelcol-contrib release, pipelines are wired to
defined components, the privacy processors mirror otel-kedro's defaults, the compose file, the
configurations and the README agree on ports and endpoints, and the ``otlpjsonfile`` globs find
the files a real run writes.
"""

from __future__ import annotations

import glob
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otel_kedro import attributes
from otel_kedro.config.privacy import DEFAULT_HASH_KEYS, DEFAULT_MAX_LENGTH
from otel_kedro.config.settings import Settings
from otel_kedro.model import run_folder
from otel_kedro.processors.secrets import scrub_text
from otel_kedro.sources.kedro.durations import DURATION_BUCKETS
from otel_kedro.testing import CapturedRun, run_session
from tests.support.collector_configs import (
    COLLECTOR_CONFIGS,
    COMPOSE,
    CONFIG_DIR,
    CONTRIB_VERSION,
    GRAFANA_DIR,
    SECTIONS,
    collector_config,
    component_type,
    distribution,
    env_references,
    expand_env,
    load_yaml,
)
from tests.support.kedro_projects import ROOT, copy_example

SIGNAL_FILES = {
    "traces": run_folder.TRACES_FILE,
    "metrics": run_folder.METRICS_FILE,
    "logs": getattr(run_folder, "LOGS_FILE", "logs.jsonl"),
}
# Secrets of shapes otel-kedro's scrubber removes; the Collector's redaction must catch each too.
SECRETS = (
    "https://alice:s3cr3t-pass@db.example.org/sales",
    "Authorization: Bearer abcdefghijklmnop0123456789",
    "Basic dXNlcjpwYXNzd29yZDEyMw==",
    "AKIAABCDEFGHIJKLMNOP",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "xoxb-1234567890-abcdefghij",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    "AIza" + "A" * 35,
    "sk_live_abcdefghijklmnop",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "password=hunter2hunter2",
    "{'api_key': 'q8w7e6r5t4y3'}",
    "kedro run --params=token:abc123",
)


@pytest.fixture(scope="module")
def configs() -> dict[str, dict[str, Any]]:
    return {name: collector_config(name) for name in COLLECTOR_CONFIGS}


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> CapturedRun:
    """One real in-process run of the example, under its default output folder."""
    project = copy_example(tmp_path_factory.mktemp("collector"))
    captured = run_session(project, project / Settings.output_dir)
    assert captured.error is None, captured.error
    return captured


class TestComponents:
    """Every component exists, by its current name, in otelcol-contrib as pinned."""

    def test_component_list_is_the_pinned_release(self) -> None:
        """The shipped list is the one the compose file's Collector image is built from."""
        text = COMPOSE.read_text()
        images = set(re.findall(r"image: (otel/opentelemetry-collector-contrib:\S+)", text))
        assert images == {f"otel/opentelemetry-collector-contrib:{CONTRIB_VERSION}"}
        dist = distribution()
        assert len(dist.modules) > 200, "the whole manifest, not a hand-picked subset"
        for (kind, _), module in dist.types.items():
            assert dist.modules.get(module) == kind, module

    @pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
    def test_every_component_exists_in_the_release(
        self, configs: dict[str, dict[str, Any]], name: str
    ) -> None:
        dist = distribution()
        config = configs[name]
        assert set(config) <= {*SECTIONS, "service"}, sorted(config)
        for section, kind in SECTIONS.items():
            for key in config.get(section) or {}:
                kind_type = (kind, component_type(key))
                assert kind_type not in dist.deprecated, (
                    f"{name}: {key} uses a deprecated name; use {dist.deprecated[kind_type]}"
                )
                assert kind_type in dist.types, f"{name}: {kind} {key} is not in otelcol-contrib"

    @pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
    def test_pipelines_use_defined_components_and_nothing_is_unused(
        self, configs: dict[str, dict[str, Any]], name: str
    ) -> None:
        config = configs[name]
        defined = {section: set(config.get(section) or {}) for section in SECTIONS}
        service = config["service"]
        assert set(service.get("extensions", [])) == defined["extensions"]
        used: dict[str, set[str]] = {section: set() for section in SECTIONS}
        fed: set[str] = set()  # connectors some pipeline exports to
        drained: set[str] = set()  # connectors some pipeline receives from
        for pipeline, wiring in service["pipelines"].items():
            assert component_type(pipeline) in {"traces", "metrics", "logs"}, pipeline
            assert wiring["receivers"], pipeline
            assert wiring["exporters"], pipeline
            for receiver in wiring["receivers"]:
                assert receiver in defined["receivers"] | defined["connectors"], receiver
                (used["receivers"] if receiver in defined["receivers"] else drained).add(receiver)
            for processor in wiring.get("processors", []):
                assert processor in defined["processors"], processor
                used["processors"].add(processor)
            for exporter in wiring["exporters"]:
                assert exporter in defined["exporters"] | defined["connectors"], exporter
                (used["exporters"] if exporter in defined["exporters"] else fed).add(exporter)
        for section in ("receivers", "processors", "exporters"):
            assert used[section] == defined[section], (name, section)
        assert fed == drained == defined["connectors"], "each connector is fed and drained"

    def test_span_metrics_connects_traces_to_metrics(
        self, configs: dict[str, dict[str, Any]]
    ) -> None:
        pipelines = configs["grafana.yaml"]["service"]["pipelines"]
        assert "span_metrics" in pipelines["traces"]["exporters"]
        assert "span_metrics" in pipelines["metrics"]["receivers"]


class TestPrivacyMirror:
    """The redaction and transform processors repeat otel-kedro's OTLP privacy defaults."""

    def test_the_same_privacy_processors_in_every_file(
        self, configs: dict[str, dict[str, Any]]
    ) -> None:
        blocks = [
            {key: config["processors"][key] for key in ("redaction/otel_kedro", "transform/otel_kedro")}
            for config in configs.values()
        ]  # fmt: skip
        assert all(block == blocks[0] for block in blocks)
        for config in configs.values():
            for wiring in config["service"]["pipelines"].values():
                processors = wiring["processors"]
                assert processors.index("redaction/otel_kedro") < processors.index("batch")
                assert "transform/otel_kedro" in processors

    def test_hashed_keys_and_length_are_otel_kedros_defaults(
        self, configs: dict[str, dict[str, Any]]
    ) -> None:
        transform = configs["jaeger.yaml"]["processors"]["transform/otel_kedro"]
        contexts = {
            "trace_statements": {"resource", "span"},
            "metric_statements": {"resource", "datapoint"},
            "log_statements": {"resource", "log"},
        }
        for signal, expected in contexts.items():
            groups = transform[signal]
            assert {group["context"] for group in groups} == expected, signal
            for group in groups:
                statements = group["statements"]
                hashed = [
                    re.match(r'set\(attributes\["([^"]+)"\], Concat\(\["sha256:"', s)
                    for s in statements
                ]
                keys = [match.group(1) for match in hashed if match]  # fmt: skip
                assert keys == list(DEFAULT_HASH_KEYS), (signal, group["context"])
                for statement, key in zip(statements, keys, strict=False):
                    assert statement.count(f'attributes["{key}"]') == 4, statement
                    assert '"^(hmac|sha256):"' in statement, "otel-kedro's hashes are kept"
                assert statements[-1] == f"truncate_all(attributes, {DEFAULT_MAX_LENGTH})"

    def test_redaction_patterns_are_re2_and_catch_what_otel_kedro_scrubs(
        self, configs: dict[str, dict[str, Any]]
    ) -> None:
        redaction = configs["jaeger.yaml"]["processors"]["redaction/otel_kedro"]
        assert redaction["allow_all_keys"] is True, "an allow-list would drop Kedro's attributes"
        assert redaction["summary"] == "silent"
        patterns = [*redaction["blocked_values"], *redaction["blocked_key_patterns"]]
        for pattern in patterns:
            # RE2 (Go) has no look-around and no backreferences.
            assert not re.search(r"\(\?<?[=!]|\\[1-9]", pattern), pattern
        values = [re.compile(pattern) for pattern in redaction["blocked_values"]]
        for secret in SECRETS:
            assert scrub_text(secret) != secret, f"otel-kedro itself scrubs {secret!r}"
            assert any(p.search(secret) for p in values), f"the Collector misses {secret!r}"
        keys = [re.compile(pattern) for pattern in redaction["blocked_key_patterns"]]
        for key in ("db_password", "API_KEY", "aws.secret", "auth_token"):
            assert any(p.fullmatch(key) for p in keys), key

    def test_redaction_leaves_a_real_runs_telemetry_alone(
        self, configs: dict[str, dict[str, Any]], real_run: CapturedRun
    ) -> None:
        """No pattern masks a node, dataset or pipeline name, nor anything otel-kedro masked."""
        redaction = configs["jaeger.yaml"]["processors"]["redaction/otel_kedro"]
        values = [re.compile(pattern) for pattern in redaction["blocked_values"]]
        keys = [re.compile(pattern) for pattern in redaction["blocked_key_patterns"]]
        spans = real_run.sent_to("otlp")
        texts: list[str] = []
        for span in spans:
            texts.append(span.name)
            for mapping in (span.attributes or {}, span.resource.attributes):
                for key, value in mapping.items():
                    assert not any(p.fullmatch(key) for p in keys), key
                    items = value if isinstance(value, tuple) else (value,)
                    texts.extend(str(item) for item in items)
        assert len(texts) > 100
        hits = sorted({text for text in texts if any(p.search(text) for p in values)})
        assert hits == []

    def test_span_metrics_buckets_and_dimensions_are_ours(
        self, configs: dict[str, dict[str, Any]]
    ) -> None:
        connector = configs["grafana.yaml"]["connectors"]["span_metrics"]
        units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
        buckets = []
        for text in connector["histogram"]["explicit"]["buckets"]:
            number, unit = re.fullmatch(r"([0-9.]+)(ms|s|m|h)", text).groups()  # type: ignore[union-attr]
            buckets.append(round(float(number) * units[unit], 6))
        assert tuple(buckets) == DURATION_BUCKETS
        emitted = {value for value in vars(attributes).values() if isinstance(value, str)}
        for dimension in connector["dimensions"]:
            assert dimension["name"] in emitted, dimension


class TestPortsAndEndpoints:
    """compose, the configurations, the Grafana files and the README name the same places."""

    def test_collectors_listen_where_compose_publishes(
        self, configs: dict[str, dict[str, Any]]
    ) -> None:
        services = load_yaml(COMPOSE)["services"]
        for name in ("jaeger.yaml", "grafana.yaml"):
            config = configs[name]
            protocols = config["receivers"]["otlp"]["protocols"]
            assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
            assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
            assert config["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"
            (service,) = [
                s for s in services.values() if any(name in v for v in s.get("volumes", []))
            ]
            assert service["command"] == [f"--config=/etc/otelcol-contrib/{name}"]
            assert f"./{name}:/etc/otelcol-contrib/{name}:ro" in service["volumes"]
            assert sorted(service["ports"]) == [
                "127.0.0.1:13133:13133", "127.0.0.1:4317:4317", "127.0.0.1:4318:4318",
            ]  # fmt: skip
            assert "collector" in service["networks"]["default"]["aliases"]

    def test_exporters_point_at_compose_services(self, configs: dict[str, dict[str, Any]]) -> None:
        compose = load_yaml(COMPOSE)
        services = compose["services"]
        profiles = {name: set(s["profiles"]) for name, s in services.items()}
        jaeger = expand_env(configs["jaeger.yaml"]["exporters"]["otlp_grpc/jaeger"]["endpoint"], {})
        assert jaeger == "jaeger:4317"
        assert "jaeger" in profiles["jaeger"]
        grafana = configs["grafana.yaml"]["exporters"]
        assert expand_env(grafana["otlp_grpc/tempo"]["endpoint"], {}) == "tempo:4317"
        tempo = load_yaml(GRAFANA_DIR / "tempo.yaml")
        assert tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == (
            "0.0.0.0:4317"
        )
        prometheus = expand_env(grafana["otlp_http/prometheus"]["metrics_endpoint"], {})
        assert prometheus == "http://prometheus:9090/api/v1/otlp/v1/metrics"
        assert "--web.enable-otlp-receiver" in services["prometheus"]["command"]
        assert "127.0.0.1:9090:9090" in services["prometheus"]["ports"]
        loki = expand_env(grafana["otlp_http/loki"]["logs_endpoint"], {})
        assert loki == "http://loki:3100/otlp/v1/logs"
        assert "127.0.0.1:3100:3100" in services["loki"]["ports"]
        for name in ("tempo", "prometheus", "loki", "grafana"):
            assert profiles[name] == {"grafana"}, name
        files = services["collector-files"]["environment"]
        assert files["OTEL_KEDRO_FORWARD_TO"] == "collector:4317"

    def test_grafana_provisioning_matches_compose(self) -> None:
        services = load_yaml(COMPOSE)["services"]
        sources = load_yaml(GRAFANA_DIR / "datasources.yaml")["datasources"]
        urls = {source["uid"]: source["url"] for source in sources}
        tempo = load_yaml(GRAFANA_DIR / "tempo.yaml")
        assert urls == {
            "prometheus": "http://prometheus:9090",
            "tempo": f"http://tempo:{tempo['server']['http_listen_port']}",
            "loki": "http://loki:3100",
        }
        mounts = dict(
            volume.rsplit(":", 1)[0].split(":", 1) for volume in services["grafana"]["volumes"]
        )
        provider = load_yaml(GRAFANA_DIR / "dashboards.yaml")["providers"][0]
        assert mounts["./grafana/kedro-runs.json"].rsplit("/", 1)[0] == provider["options"]["path"]
        for source in mounts:
            assert (CONFIG_DIR / source).is_file(), source

    def test_compose_file_follows_the_compose_specification(self) -> None:
        """Validated against the compose-spec JSON schema check-jsonschema ships (no network)."""
        check = Path(sys.executable).with_name("check-jsonschema")
        result = subprocess.run(
            [str(check), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr

    def test_every_mounted_file_exists_and_every_image_is_pinned(self) -> None:
        compose = load_yaml(COMPOSE)
        for name, service in compose["services"].items():
            image = service["image"]
            assert re.fullmatch(r"[a-z0-9./-]+:v?[0-9]+\.[0-9]+\.[0-9]+", image), (name, image)
            for volume in service.get("volumes", []):
                source = volume.split(":")[0]
                if source.startswith("./"):
                    assert (CONFIG_DIR / source).exists(), (name, source)

    def test_variables_without_default_are_provided_by_compose(self) -> None:
        services = load_yaml(COMPOSE)["services"]
        for name in COLLECTOR_CONFIGS:
            required = {
                var
                for var, default in env_references((CONFIG_DIR / name).read_text()).items()
                if default is None
            }
            assert required == {"OTEL_KEDRO_HASH_SALT"}, name
            (service,) = [s for s in services.values() if any(name in v for v in s.get("volumes", []))]  # fmt: skip
            assert required <= set(service["environment"]), name

    def test_readme_commands_are_the_ones_in_the_files(self) -> None:
        readme = (ROOT / "README.md").read_text()
        section = readme.split("## See it in your stack", 1)[1].split("\n## ", 1)[0]
        commented = "\n".join(
            path.read_text() for path in CONFIG_DIR.iterdir() if path.suffix == ".yaml"
        )
        commands = re.findall(r"^(docker compose .*|otelcol-contrib .*)$", section, re.MULTILINE)
        assert len(commands) >= 3
        for command in commands:
            assert command.strip() in commented, command
        services = load_yaml(COMPOSE)["services"]
        published = {p.split(":")[1] for s in services.values() for p in s.get("ports", [])}
        for port in re.findall(r"127\.0\.0\.1:(\d+)", section):
            assert port in published or port == "5000", port  # 5000: MLflow's own default


class TestFileReplay:
    """files-to-otlp.yaml reads exactly the files a real run writes."""

    def test_default_globs_are_the_default_output_dir(
        self, configs: dict[str, dict[str, Any]]
    ) -> None:
        receivers = configs["files-to-otlp.yaml"]["receivers"]
        for key, receiver in receivers.items():
            signal = key.partition("/")[2]
            (pattern,) = receiver["include"]
            assert expand_env(pattern, {}) == f"./{Settings.output_dir}/*/{SIGNAL_FILES[signal]}"
            assert receiver["start_at"] == "beginning"
            assert receiver["max_log_size"] == "64MiB"

    def test_each_receiver_feeds_its_own_signal(self, configs: dict[str, dict[str, Any]]) -> None:
        pipelines = configs["files-to-otlp.yaml"]["service"]["pipelines"]
        assert set(pipelines) == set(SIGNAL_FILES)
        for signal, wiring in pipelines.items():
            assert wiring["receivers"] == [f"otlpjsonfile/{signal}"]

    def test_globs_match_the_files_of_a_real_run(
        self, configs: dict[str, dict[str, Any]], real_run: CapturedRun
    ) -> None:
        folder = real_run.folder
        runs = folder.parent
        receivers = configs["files-to-otlp.yaml"]["receivers"]
        written = {path.name for path in folder.iterdir()}
        matched: dict[str, list[str]] = {}
        for key, receiver in receivers.items():
            (pattern,) = receiver["include"]
            # As run from the project root with defaults, and with OTEL_KEDRO_RUNS set.
            relative = expand_env(pattern, {})
            # The Collector matches the pattern as a string, so glob it as one.
            found = sorted(glob.glob(str(runs.parent.parent / relative)))  # noqa: PTH207
            with_env = expand_env(pattern, {"OTEL_KEDRO_RUNS": str(runs)})
            assert found == sorted(glob.glob(with_env))  # noqa: PTH207
            matched[key.partition("/")[2]] = found
        for signal in ("traces", "metrics"):
            assert matched[signal] == [str(folder / SIGNAL_FILES[signal])], signal
        if SIGNAL_FILES["logs"] in written:
            assert matched["logs"] == [str(folder / SIGNAL_FILES["logs"])]
        else:
            assert matched["logs"] == []
            pytest.skip(
                "this build writes no logs.jsonl yet; the logs glob is checked once it does"
            )
        replayed = {Path(path).name for paths in matched.values() for path in paths}
        assert replayed == {name for name in written if name.endswith(".jsonl")} - {"usage.jsonl"}
