"""Added wall time of `kedro run` on the example project when the OTLP destination is a live
receiver, a refusing port or a black hole (and OTLP plus Heap both black-holed), each vs no
remote export; and kedro-telemetry's own
cost under a black hole, for comparison. Runs interleaved, medians. (Not a test: on demand.)

    .venv/bin/python benchmarks/remote_overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.kedro_projects import clean_env, copy_example, run_kedro
from tests.support.otlp_receivers import BlackHole, HttpReceiver, refused_endpoint


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = clean_env(
        OTEL_KEDRO_CONFIG_DIR=str(tmp / "config"),
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.pop("KEDRO_DISABLE_TELEMETRY")
    env.update(extra)
    return env


def _time(project: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = run_kedro(project, "run", "--pipeline", "data_processing", env=env)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name, HttpReceiver() as live, BlackHole() as hole:
        tmp = Path(tmp_name)
        project = copy_example(tmp)
        telemetry_file = project / ".telemetry"
        cases = {
            "no remote export": _env(tmp, OTEL_KEDRO_CONSENT="false"),
            "live receiver": _env(
                tmp, OTEL_KEDRO_CONSENT="true", OTEL_EXPORTER_OTLP_ENDPOINT=live.endpoint
            ),
            "refusing port": _env(
                tmp, OTEL_KEDRO_CONSENT="true", OTEL_EXPORTER_OTLP_ENDPOINT=refused_endpoint()
            ),
            "black hole": _env(
                tmp, OTEL_KEDRO_CONSENT="true", OTEL_EXPORTER_OTLP_ENDPOINT=hole.endpoint
            ),
            "OTLP + Heap, both black holes": _env(
                tmp,
                OTEL_KEDRO_CONSENT="true",
                OTEL_EXPORTER_OTLP_ENDPOINT=hole.endpoint,
                OTEL_KEDRO_HEAP="true",
                OTEL_KEDRO_HEAP_ENDPOINT=f"{hole.endpoint}/api/track",
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        telemetry: dict[str, list[float]] = {
            "kedro-telemetry off": [],
            "kedro-telemetry, black-hole proxy": [],
        }
        for _ in range(args.repeats):
            for name, env in cases.items():
                times[name].append(_time(project, env))
            # kedro-telemetry sends by default; route its HTTPS through a black hole proxy.
            telemetry_file.unlink(missing_ok=True)
            off = _env(tmp, OTEL_KEDRO_CONSENT="false", KEDRO_DISABLE_TELEMETRY="1")
            telemetry["kedro-telemetry off"].append(_time(project, off))
            black = _env(tmp, OTEL_KEDRO_CONSENT="false", HTTPS_PROXY=hole.endpoint, NO_PROXY="")
            telemetry["kedro-telemetry, black-hole proxy"].append(_time(project, black))
            telemetry_file.write_text("consent: false\n")
    base = statistics.median(times["no remote export"])
    print(f"kedro run --pipeline data_processing, median of {args.repeats} interleaved runs:")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:30s}: {median:.3f} s   added {median - base:+.3f} s")
    tbase = statistics.median(telemetry["kedro-telemetry off"])
    for name, samples in telemetry.items():
        median = statistics.median(samples)
        print(f"  {name:34s}: {median:.3f} s   added {median - tbase:+.3f} s")


if __name__ == "__main__":
    main()
