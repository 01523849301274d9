"""Credentials never leave the process: strip the user info from every URL the service prints,
logs or returns (http://user:password@host -> http://***@host)."""

from __future__ import annotations

import re

# scheme://userinfo@  — userinfo may hold ':' but no '/', '@' or whitespace.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")


def redact(text: str | None) -> str | None:
    """`text` with the user info of every URL in it replaced by '***'."""
    if not text:
        return text
    return _USERINFO.sub(r"\g<scheme>***@", text)
