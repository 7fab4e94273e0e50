"""Network-namespace lab: pods as namespaces behind a routing node that enforces the ruleset."""
