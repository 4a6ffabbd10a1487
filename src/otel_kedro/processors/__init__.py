"""Pure functions that decide what of an attribute may be written or sent."""
