"""Database URLs as shown to people: the one place passwords are masked.

A password can sit in the user info (``postgresql://user:secret@host/db``, where it
may itself contain ``@``) or in the query (``?password=secret``). Every message
that names a URL, and every driver error that might echo one, goes through here.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
"""What a password is shown as."""


def mask_dsn(dsn: str) -> str:
    """Return ``dsn`` with any password (in the user info or the query) masked.

    A URL that cannot be parsed is shown as its scheme alone: any part of it could
    be secret.
    """
    try:
        parts = urlsplit(dsn)
        netloc = parts.netloc
        userinfo, at, hostinfo = netloc.rpartition("@")
        if at and ":" in userinfo:
            # rpartition: everything up to the last "@" is user info, so a password
            # holding "@" is masked whole.
            netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{hostinfo}"
        query = urlencode(
            [
                (k, MASK if k.lower() == "password" else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*",
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:
        scheme = dsn.partition(":")[0] if ":" in dsn else ""
        return f"{scheme}://{MASK}" if scheme.isalnum() else MASK


def parses(dsn: str) -> bool:
    """Whether ``dsn`` is a well-formed URL (a port that is a number, ...)."""
    try:
        _ = urlsplit(dsn).port
    except ValueError:
        return False
    return True


def scrub(text: str, dsn: str) -> str:
    """Return ``text`` (a driver's error message) with ``dsn``'s password masked.

    The password is replaced as written in the URL and as decoded, so an error
    that echoes the URL or a part of it (a host parsed from a password holding
    ``@``) shows none of it.
    """
    for secret in sorted(_passwords(dsn), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _passwords(dsn: str) -> set[str]:
    """Every spelling of the passwords in ``dsn``, and the pieces around an ``@``."""
    try:
        parts = urlsplit(dsn)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return set()
    found = {v for k, v in query if k.lower() == "password"}
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        raw = userinfo.split(":", 1)[1]
        found |= {raw, unquote(raw)}
        # A driver that splits at the first "@" reports the rest as a host name.
        found.update(piece for piece in raw.split("@")[1:] if len(piece) > 2)
    found |= {quote(secret, safe="") for secret in found}
    return {secret for secret in found if secret}
