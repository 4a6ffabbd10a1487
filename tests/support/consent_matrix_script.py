"""Run one small Kedro session per consent case, in one process, and print each run's folder.

Usage: consent_matrix_script.py PROJECT CASES_JSON
Each case is {"veto": {name: value}, "telemetry": text or null, "ours": text or null}: the
environment vetoes to set, the project's ``.telemetry`` content, and the ``otel.yml`` text.
"""

import json
import os
import sys
from pathlib import Path


def main() -> int:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    project = Path(sys.argv[1])
    cases = json.loads(Path(sys.argv[2]).read_text())
    bootstrap_project(project)
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
        with KedroSession.create(project_path=project) as session:
            session.run(pipeline_names=["data_processing"])
        (folder,) = set(runs.iterdir()) - before
        print(json.dumps({"case": case, "folder": str(folder)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
