"""nftables back end: compile the core's model to a ruleset (pure), render it, apply it."""
