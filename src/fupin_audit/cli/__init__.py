"""Command-line interface: parses arguments, calls the library, picks an exit code."""
