"""``python -m podwall``: the podwall command."""

from podwall.cli.main import main

main()
