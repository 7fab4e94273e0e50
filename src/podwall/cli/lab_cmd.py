"""Placeholder: commands of this module are registered here (see main.py)."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to the ``podwall`` group."""
