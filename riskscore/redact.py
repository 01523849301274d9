"""Credentials never leave the process: strip the user info from every URL the service prints,
logs or returns (http://user:password@host -> http://***@host), and a password given as a
parameter (postgresql://db/x?password=secret, or libpq's `host=db password=secret`)."""

from __future__ import annotations

import re

# scheme://userinfo@  — userinfo may hold ':' but no '/', '@' or whitespace.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")
_PASSWORD = re.compile(r"(?P<name>\bpassword\s*=\s*)[^&\s;'\"]+", re.IGNORECASE)


def redact(text: str | None) -> str | None:
    """`text` with the user info of every URL in it, and every password parameter, '***'."""
    if not text:
        return text
    return _PASSWORD.sub(r"\g<name>***", _USERINFO.sub(r"\g<scheme>***@", text))
