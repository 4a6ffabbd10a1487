"""Privacy settings: per-destination chain specs, their validation and the worker handoff."""

from __future__ import annotations

import re

import pytest

from otel_kedro.config import privacy as config_privacy
from otel_kedro.config.privacy import (
    ALLOW_KEYS,
    DEFAULT_HASH_KEYS,
    DEFAULT_MAX_LENGTH,
    DESTINATIONS,
    HASH_IDENTIFIERS,
    HEAP_ALLOWED_KEYS,
    KEPT_RUN_OPTIONS,
    MASK_ARGS,
    SCRUB_SECRETS,
    ChainSpec,
    PrivacySettings,
    parse_privacy,
    spec_from_json,
    spec_to_json,
)
from otel_kedro.processors import chain


class TestProcessorNames:
    """Configuration and the processors spell the processor names the same way."""

    def test_config_lists_the_processors_the_chain_builder_knows(self) -> None:
        """config.privacy.PROCESSORS is exactly processors.chain.PROCESSORS, in order."""
        assert config_privacy.PROCESSORS == chain.PROCESSORS


class TestDefaults:
    """The default chains are design.md §2's per-destination privacy."""

    def test_default_chains_per_destination(self) -> None:
        """Files mask and scrub; OTLP also hashes; Heap also keeps only kedro-telemetry's keys."""
        privacy = PrivacySettings()
        assert privacy.spec("files").processors == (MASK_ARGS, SCRUB_SECRETS)
        assert privacy.spec("otlp").processors == (MASK_ARGS, SCRUB_SECRETS, HASH_IDENTIFIERS)
        assert privacy.spec("heap").processors[-1] == ALLOW_KEYS
        assert privacy.heap.allow_keys == HEAP_ALLOWED_KEYS
        assert privacy.otlp.hash_keys == DEFAULT_HASH_KEYS
        assert privacy.max_attribute_length == DEFAULT_MAX_LENGTH
        assert {name: privacy.spec(name) for name in DESTINATIONS} == {
            "files": privacy.files,
            "otlp": privacy.otlp,
            "heap": privacy.heap,
        }

    def test_only_the_local_files_keep_kedro_run_option_values(self) -> None:
        """Files keep the values of Kedro's non-secret run options; remote chains keep none."""
        privacy = PrivacySettings()
        assert {"--pipeline", "-p", "--runner", "--env", "--tags", "--nodes"} <= set(
            privacy.files.keep_run_options
        )
        assert not {"--params", "--conf-source", "--config", "--load-versions"} & set(
            privacy.files.keep_run_options
        )
        assert privacy.otlp.keep_run_options == privacy.heap.keep_run_options == ()

    def test_an_empty_mapping_is_the_defaults(self) -> None:
        """parse_privacy({}) changes nothing."""
        assert parse_privacy({}) == PrivacySettings()


class TestParsePrivacy:
    """``parse_privacy`` validates configuration and names the sub-key that is wrong."""

    def test_chains_are_configurable_per_destination(self) -> None:
        """Changing one destination's chain keeps the others' defaults."""
        privacy = parse_privacy(
            {
                "files": {
                    "processors": ["mask_args", "scrub_secrets", "drop_keys"],
                    "drop_keys": ["host.name"],
                },
                "allow_args": ["data_science"],
            }
        )
        assert privacy.otlp == PrivacySettings().otlp, "other destinations keep their defaults"
        assert privacy.files == ChainSpec(
            ("mask_args", "scrub_secrets", "drop_keys"),
            drop_keys=("host.name",),
            keep_run_options=KEPT_RUN_OPTIONS,
        )
        assert privacy.allow_args == ("data_science",)

    def test_comma_separated_text_is_a_list(self) -> None:
        """A string list option may be given as comma-separated text (as variables are)."""
        privacy = parse_privacy({"allow_args": "a, b,,c", "otlp": {"drop_keys": "x"}})
        assert privacy.allow_args == ("a", "b", "c")
        assert privacy.otlp.drop_keys == ("x",)

    def test_options_are_read(self) -> None:
        """max_attribute_length and hash_key_file are taken as given (the path stripped)."""
        privacy = parse_privacy({"max_attribute_length": 64, "hash_key_file": " /k "})
        assert (privacy.max_attribute_length, privacy.hash_key_file) == (64, "/k")

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ({"files": {"processors": ["scrub"]}}, "privacy.files.processors has ['scrub']; allowed:"),
            ({"files": {"procesors": []}}, "privacy.files has unknown keys ['procesors']"),
            ({"otlp": "none"}, "privacy.otlp must be a mapping"),
            ({"max_attribute_length": 3}, "privacy.max_attribute_length must be an integer >= 64"),
            ({"max_attribute_length": True}, "privacy.max_attribute_length must be an integer >= 64"),
            ({"allow_args": [1]}, "privacy.allow_args must be a list of strings"),
            ({"hash_key_file": "  "}, "privacy.hash_key_file must be a path"),
            ({"heap_": {}}, "unknown: ['heap_']"),
            ({"otlp": {"keep_run_options": ["--params"]}}, "privacy.otlp.keep_run_options cannot keep ['--params']"),
            ({"files": {"keep_run_options": "--env,--conf-source"}}, "cannot keep ['--conf-source']"),
            ({"files": {"keep_run_options": ["pipeline"]}}, "lists option names (like --pipeline), not ['pipeline']"),
            ("files", "a mapping with keys files, otlp, heap and options"),
        ],
    )  # fmt: skip
    def test_bad_privacy_configuration_is_named_precisely(
        self, value: object, message: str
    ) -> None:
        """Each mistake is a ValueError naming the sub-key, the value and what is allowed."""
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_privacy(value)


class TestWorkerHandoff:
    """``spec_to_json`` and ``spec_from_json`` carry one chain to a worker process."""

    def test_worker_handoff_round_trips_the_chain(self) -> None:
        """A chain and its options survive the JSON handoff unchanged."""
        privacy = parse_privacy(
            {
                "files": {"drop_keys": ["a"]},
                "allow_args": ["p"],
                "max_attribute_length": 100,
                "hash_key_file": "/org.key",
            }
        )
        spec, restored = spec_from_json(spec_to_json(privacy.files, privacy))
        assert spec == privacy.files
        assert (restored.allow_args, restored.max_attribute_length) == (("p",), 100)
        assert restored.hash_key_file == "/org.key"

    def test_malformed_handoff_falls_back_to_empty_and_defaults(self) -> None:
        """Missing or mistyped fields become empty lists and default options, never an error."""
        spec, restored = spec_from_json({"processors": 3, "max_attribute_length": "x"})
        assert spec == ChainSpec(processors=(), hash_keys=())
        assert restored.max_attribute_length == DEFAULT_MAX_LENGTH
        assert restored.hash_key_file is None
