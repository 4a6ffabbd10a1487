"""Pure functions that decide what of an attribute may be written or sent."""

from typing import Final

MASK: Final = "*****"
"""What replaces a masked argument or a scrubbed secret (kedro-telemetry's mask)."""
