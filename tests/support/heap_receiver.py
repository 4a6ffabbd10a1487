"""A loopback endpoint standing in for Heap's track API: it enforces the rules Heap documents
(facts.md) and answers 400 on any violation, recording both what it accepted and why it refused.
"""

from __future__ import annotations

import datetime as dt
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.otlp_receivers import LoopbackHttpServer


def problems_of(body: Any) -> list[str]:
    """Every way a track request breaks Heap's documented rules (empty when valid)."""
    if not isinstance(body, dict) or not isinstance(body.get("app_id"), str):
        return ["app_id is required"]
    events = body.get("events", [body])
    problems: list[str] = []
    if not isinstance(events, list) or not 0 < len(events) <= 1000:
        return ["events must be a list of 1 to 1000 events"]
    for event in events:
        if not isinstance(event.get("event"), str) or not event["event"]:
            problems.append(f"event name missing in {event}")
        if ("identity" in event) == ("user_id" in event):
            problems.append("exactly one of identity and user_id")
        if len(str(event.get("identity", ""))) > 255:
            problems.append("identity longer than 255 characters")
        try:
            dt.datetime.fromisoformat(str(event.get("timestamp")).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"timestamp {event.get('timestamp')!r} is not ISO 8601")
        for key, value in (event.get("properties") or {}).items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                problems.append(f"property {key} is {type(value).__name__}, not string or number")
            elif isinstance(value, str) and len(value) >= 1024:
                problems.append(f"property {key} is 1024 characters or longer")
    return problems


class HeapReceiver(LoopbackHttpServer):
    """POST /api/track with a JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.refused: list[list[str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.raw.append(raw)
                problems = [] if self.path == "/api/track" else [f"path {self.path}"]
                if self.headers["Content-Type"] != "application/json":
                    problems.append("Content-Type must be application/json")
                body = json.loads(raw)
                problems += problems_of(body)
                if problems:
                    receiver.refused.append(problems)
                    self.send_response(400)
                else:
                    receiver.bodies.append(body)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._serve(Handler)
        self.endpoint = f"{self.address}/api/track"

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for body in self.bodies for event in body.get("events", [body])]
