"""Many requests at once on a real socket: each route holds one pooled connection, and the
token check must not need a second from the same pool (with every connection held by a route
waiting for its token check, each waited its 30 s and answered 500)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx2
import pytest

from api.app import POOL_MAX, create_app
from firewatch.testing import serving
from settings import Settings
from tests.tokens import auth, token

AT_ONCE = 4 * POOL_MAX


@pytest.fixture()
def served(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as base:
        yield base


def _at_once(url: str, headers: dict[str, str]) -> Counter[int | str]:
    """The answers to AT_ONCE requests started together, or the client's error for each that
    did not get one within 15 s."""
    answers: Counter[int | str] = Counter()
    start = threading.Barrier(AT_ONCE)

    def one() -> None:
        start.wait()
        try:
            answers[httpx2.get(url, headers=headers, timeout=15).status_code] += 1
        except httpx2.HTTPError as exc:
            answers[type(exc).__name__] += 1

    threads = [threading.Thread(target=one) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_burst_of_requests_is_answered_not_starved_of_connections(
    served: str, database_url: str, site: str
) -> None:
    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    assert _at_once(f"{served}/api/v1/buildings", viewer) == Counter({200: AT_ONCE})


def test_a_burst_of_forged_tokens_is_answered_401_and_starves_no_one(served: str) -> None:
    """Anyone can send these: no token check may hold the pool while it waits for the pool."""
    forged = auth("fw_not-a-token-of-ours")
    assert _at_once(f"{served}/api/v1/zones", forged) == Counter({401: AT_ONCE})
