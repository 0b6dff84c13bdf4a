"""Reading the server-rendered review pages in tests."""

import re

ROW_LINK = re.compile(r'<a href="/reviews/items/(\d+)/">([^<]+)</a>')
DIGEST = re.compile(r'name="digest" value="([0-9a-f]{64})"')


def listed(response) -> list[str]:
    """Request IDs of the queue rows on a page, in order."""
    return [request_id for _, request_id in ROW_LINK.findall(response.content.decode())]


def digest_on(response) -> str:
    """The digest the decision form carries."""
    match = DIGEST.search(response.content.decode())
    assert match, "the page has no decision form"
    return match.group(1)


def count(response, name: str) -> int:
    """A figure from the queue counts: Pending, Claimed or Past SLA."""
    match = re.search(rf"<dt>{name}</dt><dd>(\d+)</dd>", response.content.decode())
    assert match, f"no {name} count on the page"
    return int(match.group(1))
