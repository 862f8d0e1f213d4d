"""structures package."""
