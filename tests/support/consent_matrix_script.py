"""Run ``kedro run --pipeline data_processing`` once per consent case through Kedro's own CLI,
in one process (so each run has its command span), and print each run's folder.

Usage: consent_matrix_script.py PROJECT CASES_JSON
Each case is {"veto": {name: value}, "telemetry": text or null, "ours": text or null}: the
environment vetoes to set, the project's ``.telemetry`` content, and the ``otel.yml`` text.
"""

import json
import os
import sys
from pathlib import Path


def main() -> int:
    from kedro.framework.cli.cli import KedroCLI
    from kedro.framework.cli.hooks import get_cli_hook_manager

    # kedro-telemetry's CLI hooks read the same .telemetry (and crash on a malformed one); the
    # test's settings.py turns off its project hooks, this its CLI hooks.
    cli_hooks = get_cli_hook_manager()
    if cli_hooks.has_plugin("kedro-telemetry"):
        cli_hooks.unregister(name="kedro-telemetry")
    cli_hooks.set_blocked("kedro-telemetry")

    project = Path(sys.argv[1])
    cases = json.loads(Path(sys.argv[2]).read_text())
    os.chdir(project)
    runs = project / ".otel_kedro" / "runs"
    for case in cases:
        for name in ("DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY"):
            os.environ.pop(name, None)
        os.environ.update(case["veto"])
        for path, text in ((project / ".telemetry", case["telemetry"]),
                           (project / "conf" / "base" / "otel.yml", case["ours"])):  # fmt: skip
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text)
        before = set(runs.iterdir()) if runs.exists() else set()
        try:  # the CLI hooks around the command, as `kedro run` has them
            KedroCLI(project_path=project).main(["run", "--pipeline", "data_processing"])
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise
        (folder,) = set(runs.iterdir()) - before
        print(json.dumps({"case": case, "folder": str(folder)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
