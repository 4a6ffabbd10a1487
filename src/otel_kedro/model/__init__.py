"""Value types shared by every layer, and the one reader of a run folder."""
