"""The `authrelay` command line."""
