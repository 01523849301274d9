"""The `riskscore` command line: thin verbs that parse, call one library function, and format."""

from riskscore.cli.app import app

__all__ = ["app"]
