"""Run a Kedro project through ``KedroSession`` from Python code: no CLI, so no command span.

Usage: session_script.py PROJECT RUNNER [key=value ...]   (values become runtime params)
"""

import sys
from pathlib import Path


def main() -> int:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.runner import ParallelRunner, SequentialRunner, ThreadRunner

    project = Path(sys.argv[1])
    runner = {
        "SequentialRunner": SequentialRunner,
        "ThreadRunner": ThreadRunner,
        "ParallelRunner": ParallelRunner,
    }[sys.argv[2]]()
    params = dict(pair.split("=", 1) for pair in sys.argv[3:])
    runtime_params = {}
    for key, value in params.items():
        section, _, leaf = key.partition(".")
        runtime_params.setdefault(section, {})[leaf] = value.lower() == "true"
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=runtime_params) as session:
        try:
            session.run(runner=runner)
        except Exception as error:  # noqa: BLE001
            print(f"run failed: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
