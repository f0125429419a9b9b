"""The ``paperleague`` command line."""
