"""Sub-commands of the ``smkit`` CLI: one ``cmd_*.py`` module per command group."""
