"""Each destination's privacy chain, built from the validated privacy settings."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from otel_kedro.processors.chain import Chain, build_chain

if TYPE_CHECKING:
    from pathlib import Path

    from otel_kedro.config.privacy import ChainSpec, PrivacySettings
    from otel_kedro.processors.cli_args import Vocabulary


def destination_chain(
    privacy: PrivacySettings,
    destination: str,
    *,
    vocabulary: Vocabulary | None = None,
    project_path: Path | None = None,
    known_values: Collection[str] = (),
) -> Chain:
    """The chain of ``files``, ``otlp`` or ``heap`` as configured, redacting ``known_values``."""
    return chain_of(
        privacy.spec(destination),
        privacy,
        vocabulary=vocabulary,
        project_path=project_path,
        known_values=known_values,
    )


def chain_of(
    spec: ChainSpec,
    privacy: PrivacySettings,
    *,
    vocabulary: Vocabulary | None = None,
    project_path: Path | None = None,
    known_values: Collection[str] = (),
) -> Chain:
    """The chain one spec describes, with the options every chain shares."""
    return build_chain(
        spec.processors,
        hash_keys=spec.hash_keys,
        drop_keys=spec.drop_keys,
        allow_keys=spec.allow_keys,
        keep_run_options=spec.keep_run_options,
        allow_args=privacy.allow_args,
        max_length=privacy.max_attribute_length,
        key_file=privacy.hash_key_file,
        vocabulary=vocabulary,
        project_path=project_path,
        known_values=known_values,
    )
