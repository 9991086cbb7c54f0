"""``python -m mailferry`` runs the CLI."""

from mailferry.interfaces.cli.main import main

main()
