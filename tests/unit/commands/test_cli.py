"""commands._cli: Kedro imports the click groups on every ``kedro`` command, so the subcommands'
modules are imported only when a subcommand is used or listed.
"""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from otel_kedro.commands._cli import SUBCOMMANDS, kedro_commands, main_group, otel, subcommand


def test_loading_the_groups_imports_no_subcommand_module() -> None:
    """What Kedro loads for ``kedro run`` (the entry point's group and ``otel``): click and the
    groups, none of the nine subcommand modules.
    """
    code = (
        "import json, sys; from otel_kedro.commands import kedro_commands; "
        "kedro_commands.get_command(None, 'otel'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('otel_kedro.commands'))))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
    )
    assert loaded == ["otel_kedro.commands", "otel_kedro.commands._cli"]


def test_both_groups_list_and_resolve_every_subcommand_to_one_object() -> None:
    """``otel-kedro`` and ``kedro otel`` offer the same nine commands, each imported once."""
    assert kedro_commands.get_command(None, "otel") is otel  # type: ignore[arg-type]
    for name in SUBCOMMANDS:
        command = subcommand(name)
        assert command is not None
        assert command.name == name
        assert main_group.get_command(None, name) is command  # type: ignore[arg-type]
        assert otel.get_command(None, name) is command  # type: ignore[arg-type]
    assert main_group.get_command(None, "nope") is None  # type: ignore[arg-type]
    listing = CliRunner().invoke(main_group, ["--help"]).output
    assert [line.split()[0] for line in listing.split("Commands:")[1].strip().splitlines()] == (
        sorted(SUBCOMMANDS)
    )
