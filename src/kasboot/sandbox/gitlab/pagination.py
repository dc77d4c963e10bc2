"""GitLab's offset pagination (``x-*`` headers + RFC 5988 ``link``) and the tree's keyset mode."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from kasboot.sandbox.gitlab import exceptions as err

T = TypeVar("T")
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


def _int_param(params: dict[str, Any], name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(str(raw))
    except ValueError as exc:
        raise err.invalid_param(name) from exc


def per_page(params: dict[str, Any]) -> int:
    value = _int_param(params, "per_page", DEFAULT_PER_PAGE)
    return DEFAULT_PER_PAGE if value < 1 else min(value, MAX_PER_PAGE)


def _link(url: str, params: dict[str, Any], **changes: Any) -> str:
    merged = {**{k: v for k, v in params.items() if not isinstance(v, (list, dict))}, **changes}
    return f"{url}?{urlencode(merged)}"


def offset_page(
    items: Sequence[T], params: dict[str, Any], url: str
) -> tuple[Sequence[T], dict[str, str]]:
    """The requested page of ``items`` and the headers GitLab sends with it."""
    size = per_page(params)
    page = max(_int_param(params, "page", 1), 1)
    total = len(items)
    total_pages = max((total + size - 1) // size, 1)
    chunk = items[(page - 1) * size : page * size]
    next_page = page + 1 if page < total_pages else None
    prev_page = page - 1 if page > 1 and page - 1 <= total_pages else None
    links = []
    if next_page:
        links.append(f'<{_link(url, params, page=next_page, per_page=size)}>; rel="next"')
    if prev_page:
        links.append(f'<{_link(url, params, page=prev_page, per_page=size)}>; rel="prev"')
    links.append(f'<{_link(url, params, page=1, per_page=size)}>; rel="first"')
    links.append(f'<{_link(url, params, page=total_pages, per_page=size)}>; rel="last"')
    headers = {
        "x-page": str(page),
        "x-per-page": str(size),
        "x-next-page": str(next_page or ""),
        "x-prev-page": str(prev_page or ""),
        "x-total": str(total),
        "x-total-pages": str(total_pages),
        "link": ", ".join(links),
    }
    return chunk, headers


def keyset_page(
    items: Sequence[T], params: dict[str, Any], url: str, token_of: Callable[[T], str]
) -> tuple[Sequence[T], dict[str, str]]:
    """Keyset pages: ``page_token`` names the last entry seen; ``link`` carries the next one."""
    size = per_page(params)
    start = 0
    token = params.get("page_token")
    if token:
        positions = [i for i, item in enumerate(items) if token_of(item) == token]
        if not positions:
            raise err.api_error("page_token is invalid", 400)
        start = positions[0] + 1
    chunk = items[start : start + size]
    headers: dict[str, str] = {"x-per-page": str(size)}
    if start + size < len(items) and chunk:
        next_params = {k: v for k, v in params.items() if k != "page"}
        next_url = _link(url, next_params, page_token=token_of(chunk[-1]), per_page=size)
        headers["link"] = f'<{next_url}>; rel="next"'
    return chunk, headers
