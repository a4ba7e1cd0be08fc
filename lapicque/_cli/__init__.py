"""The ``lapicque`` command's parts: a module per sub-command, the parser, values, protocols, the demo network."""
