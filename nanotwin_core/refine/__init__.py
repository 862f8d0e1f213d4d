"""refine package."""
