"""podwall."""
