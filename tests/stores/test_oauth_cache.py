"""The per-mailbox token cache every OAuth2 provider is: renewal before expiry, one
request at a time per mailbox under asyncio, invalidation of a refused token.

The token source here is a counting stand-in (the providers' own sources are tested
against the local token server in test_oauth_providers.py); the clock is a variable."""

from __future__ import annotations

import asyncio

import pytest

from mailferry.errors import TokenRequestFailed
from mailferry.stores.logins import RenewableTokenProvider, XOAuth2, target_credentials
from mailferry.stores.oauth.cache import CachedTokenProvider, Grant


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """Hands out ``<user>#<n>`` tokens living ``lifetime`` s; ``gate`` holds requests."""

    def __init__(self, lifetime: float = 3600.0) -> None:
        self.lifetime = lifetime
        self.calls: list[tuple[str, bool]] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def fetch(self, user: str, *, forced: bool) -> Grant:
        self.calls.append((user, forced))
        number = len(self.calls)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return Grant(f"{user}#{number}", self.lifetime)


def test_a_token_is_cached_per_mailbox_until_its_renewal_time() -> None:
    clock, source = Clock(), Source(lifetime=3600)
    provider = CachedTokenProvider(source, margin=300, clock=clock)

    async def run() -> list[str]:
        got = [await provider.token("Ann@Example.com"), await provider.token("ann@example.com")]
        got.append(await provider.token("bob@example.com"))
        clock.now += 3299  # 1 s before renewal (3600 - 300)
        got.append(await provider.token("ann@example.com"))
        clock.now += 1
        got.append(await provider.token("ann@example.com"))
        return got

    got = asyncio.run(run())
    assert got == ["Ann@Example.com#1", "Ann@Example.com#1", "bob@example.com#2",
                   "Ann@Example.com#1", "ann@example.com#3"]  # fmt: skip
    assert provider.requests == 3 and [forced for _, forced in source.calls] == [False] * 3


def test_a_short_lived_token_is_renewed_at_three_quarters_of_its_life() -> None:
    clock, source = Clock(), Source(lifetime=20)
    provider = CachedTokenProvider(source, margin=300, clock=clock)

    async def run() -> None:
        await provider.token("a@x.example")
        clock.now += 14.9
        await provider.token("a@x.example")
        assert provider.requests == 1
        assert provider.expires_in("a@x.example") == pytest.approx(5.1)
        clock.now += 0.1
        await provider.token("a@x.example")

    asyncio.run(run())
    assert provider.requests == 2


def test_concurrent_logins_of_one_mailbox_share_one_request() -> None:
    source = Source()
    provider = CachedTokenProvider(source)

    async def run() -> list[str]:
        source.gate = asyncio.Event()
        waiting = [asyncio.create_task(provider.token("ann@example.com")) for _ in range(10)]
        other = asyncio.create_task(provider.token("bob@example.com"))
        await asyncio.sleep(0.01)
        assert len(source.calls) == 2  # one for each mailbox, however many wait
        source.gate.set()
        return [*await asyncio.gather(*waiting), await other]

    got = asyncio.run(run())
    assert set(got[:10]) == {"ann@example.com#1"} and got[10] == "bob@example.com#2"
    assert provider.requests == 2


def test_one_waiter_cancelled_does_not_cancel_the_request_for_the_others() -> None:
    source = Source()
    provider = CachedTokenProvider(source)

    async def run() -> str:
        source.gate = asyncio.Event()
        first = asyncio.create_task(provider.token("ann@example.com"))
        second = asyncio.create_task(provider.token("ann@example.com"))
        await asyncio.sleep(0.01)
        first.cancel()
        source.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await second

    assert asyncio.run(run()) == "ann@example.com#1" and provider.requests == 1


def test_a_failed_request_fails_every_waiter_and_the_next_login_asks_again() -> None:
    source = Source()
    provider = CachedTokenProvider(source)

    async def run() -> str:
        source.gate, source.fail = asyncio.Event(), TokenRequestFailed("down", transient=True)
        waiting = [asyncio.create_task(provider.token("ann@example.com")) for _ in range(3)]
        await asyncio.sleep(0.01)
        source.gate.set()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(r, TokenRequestFailed) and r.transient for r in results)
        source.fail = None
        return await provider.token("ann@example.com")

    assert asyncio.run(run()) == "ann@example.com#2" and provider.requests == 2


def test_invalidate_forces_a_fresh_request_but_spares_a_newer_token() -> None:
    provider = CachedTokenProvider(source := Source())

    async def run() -> list[str]:
        first = await provider.token("ann@example.com")
        provider.invalidate("ANN@example.com", first)
        second = await provider.token("ann@example.com")
        provider.invalidate("ann@example.com", first)  # stale news: the second is kept
        third = await provider.token("ann@example.com")
        provider.invalidate("ann@example.com")  # whichever is cached
        return [first, second, third, await provider.token("ann@example.com")]

    got = asyncio.run(run())
    assert got == ["ann@example.com#1", "ann@example.com#2", "ann@example.com#2",
                   "ann@example.com#3"]  # fmt: skip
    assert [forced for _, forced in source.calls] == [False, True, True]
    assert isinstance(provider, RenewableTokenProvider)


def test_the_provider_serves_xoauth2_logins_across_event_loops() -> None:
    """The one-shot runs each attempt in a fresh loop: no lock or task may stay bound."""
    provider = CachedTokenProvider(Source(lifetime=0.0))
    for _ in range(2):
        credentials = asyncio.run(target_credentials(XOAuth2(provider), "ann@example.com"))
        assert credentials.secret.startswith("ann@example.com#")
        assert "#" not in repr(credentials) and "ann@example.com#" not in repr(provider)
    assert provider.requests == 2
