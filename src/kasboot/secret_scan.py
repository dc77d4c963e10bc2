"""Recognising GitLab tokens in text kasboot is about to commit, log or echo.

The prefixes are GitLab's documented ones ("Token prefixes" in docs.gitlab.com
security/tokens): personal, project, group and impersonation tokens (glpat-), OAuth
application secrets (gloas-), deploy tokens (gldt-), runner authentication tokens
(glrt-, glrtr-), CI/CD job tokens (glcbt-), pipeline trigger tokens (glptt-), feed
tokens (glft-), incoming e-mail tokens (glimt-), agent tokens (glagent-), workspace
tokens (glwt-), SCIM tokens (glsoat-), feature-flag client tokens (glffct-) and
legacy runner registration tokens (GR1348941). An instance may put its own prefix in
front ("acme-glpat-…"), and routable tokens carry '.'-separated segments: both match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

TOKEN_PREFIXES = (
    "glpat-", "gloas-", "gldt-", "glrt-", "glrtr-", "glcbt-", "glptt-", "glft-", "glimt-",
    "glagent-", "glwt-", "glsoat-", "glffct-", "GR1348941",
)  # fmt: skip
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    + "|".join(re.escape(prefix) for prefix in TOKEN_PREFIXES)
    + r")[A-Za-z0-9_\-.]{8,}"
)
REDACTED = "<redacted>"


def looks_like_token(text: str) -> bool:
    return _TOKEN.search(text) is not None


def redact(text: str) -> str:
    """`text` with every token-looking run replaced by <redacted>."""
    return _TOKEN.sub(REDACTED, text)


def token_keys(data: Any, path: str = "") -> Iterator[str]:
    """The dotted key path ('config.token', 'extraEnv[0].value') of every string in a
    parsed YAML/JSON tree that holds something looking like a GitLab token."""
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if looks_like_token(str(key)):
                yield where
            yield from token_keys(value, where)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from token_keys(item, f"{path}[{index}]")
    elif isinstance(data, str) and looks_like_token(data):
        yield path or "(the whole file)"


_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:private_token|access_token|job_token|token|password|secret)=)[^&#]*"
)
_URL_USERINFO = re.compile(r"(?i)^([a-z][a-z0-9+.-]*://)[^/@]*@")


def redact_url(url: str) -> str:
    """A URL fit for a log: credentials in the user-info part or in a token-like query
    parameter, and anything looking like a GitLab token, replaced by <redacted>."""
    url = _URL_USERINFO.sub(rf"\1{REDACTED}@", url)
    url = _SECRET_QUERY.sub(rf"\1{REDACTED}", url)
    return redact(url)
