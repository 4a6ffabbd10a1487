"""Cost of known-value redaction per span: the files chain with and without the run's known
values, over the same Kedro-shaped spans, alternating side by side (not a test: run on demand).

    .venv/bin/python benchmarks/redaction.py [--spans 6000] [--repeats 9]

Each repeat times ``process_span`` (the one runner) over every span with each chain in turn,
alternating which goes first; the figure is the median over repeats of the per-span difference.
Known values are random 12-character tokens (``--params`` values, credentials, a header value).
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from privacy_throughput import realistic_spans

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.processors.apply import process_span
from otel_kedro.processors.chain import Chain
from otel_kedro.processors.redaction import Redactor, known_values
from otel_kedro.runs.chains import destination_chain


def _known(count: int) -> list[str]:
    rng = random.Random(count)  # noqa: S311 - benchmark data
    return ["".join(rng.choices(string.ascii_lowercase, k=12)) for _ in range(count)]


def _seconds(spans: list, chain: Chain) -> float:  # type: ignore[type-arg]
    resource = spans[0].resource
    start = time.perf_counter()
    for span in spans:
        process_span(span, chain, resource)
    return time.perf_counter() - start


def _direct_us(spans: list, count: int) -> float:  # type: ignore[type-arg]
    """Minimum over 7 rounds of the redactor alone on each span's attributes, event attributes,
    name and status, in microseconds per span (the minimum is the least disturbed round).
    """
    redactor = Redactor(known_values(_known(count)))
    sets = [
        (dict(s.attributes or {}), [dict(e.attributes or {}) for e in s.events], s.name)
        for s in spans
    ]

    def once() -> None:
        for attributes, events, name in sets:
            redactor.attributes(attributes)
            for event in events:
                redactor.attributes(event)
            redactor.text(name)

    return min(timeit.repeat(once, number=1, repeat=7)) / len(spans) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    spans = realistic_spans(args.spans)
    privacy = PrivacySettings()
    base = destination_chain(privacy, "files")
    print(f"{len(spans)} spans, files chain, median of {args.repeats} alternated repeats:")
    for count in (8, 64):
        chain = destination_chain(privacy, "files", known_values=_known(count))
        _seconds(spans, base), _seconds(spans, chain)  # warm the scrubber's caches
        plain: list[float] = []
        redacted: list[float] = []
        for repeat in range(args.repeats):
            order = [(plain, base), (redacted, chain)]
            for sink, used in order if repeat % 2 else order[::-1]:
                sink.append(_seconds(spans, used) / len(spans) * 1e6)
        extra = [r - p for p, r in zip(plain, redacted, strict=True)]
        print(
            f"  {count:>3} known values: redactor alone {_direct_us(spans, count):.2f} us/span;"
            " in the chain:"
        )
        print(
            f"       {statistics.median(plain):.2f} -> "
            f"{statistics.median(redacted):.2f} us/span, redaction +{statistics.median(extra):.2f}"
            f" us/span (range {min(extra):+.2f} to {max(extra):+.2f})"
        )


if __name__ == "__main__":
    main()
