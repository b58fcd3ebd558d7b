"""The tokens table in memory: every request's token is checked without touching the database.

The table is read again every GATEWAY_TOKEN_REFRESH seconds (revocations take effect within that
time). A token of the right shape that is not in memory is looked up by its hash (a token created
a moment ago works at once); such lookups are limited to MISS_LOOKUPS_PER_MINUTE, so that a flood
of made-up tokens costs the database little. Reads run in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Callable, Dict, List, Optional

from .limits import Limit, Limiter, RateLimited
from .tokens import Token, same_hash, token_hash

logger = logging.getLogger(__name__)

MISS_LOOKUPS_PER_MINUTE = 600


class TokenCache:
    """Tokens by hash and by id, as last read from the database."""

    def __init__(
        self, load: Callable[[], List[Token]], load_one: Callable[[str], Optional[Token]], refresh_s: float
    ) -> None:
        self.load = load
        self.load_one = load_one
        self.refresh_s = refresh_s
        self._misses = Limiter()
        self.by_hash: Dict[str, Token] = {}
        self.by_id: Dict[int, Token] = {}
        self.loaded_at = float("-inf")
        self._refreshing: Optional[asyncio.Task] = None
        self._task: Optional[asyncio.Task] = None

    def replace(self, tokens: List[Token]) -> None:
        self.by_hash = {token.hash: token for token in tokens}
        self.by_id = {token.id: token for token in tokens}
        self.loaded_at = time.monotonic()

    async def refresh(self) -> None:
        """Read the table again (one read at a time: concurrent callers share it)."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._read())
        await asyncio.shield(self._refreshing)

    async def _read(self) -> None:
        self.replace(await asyncio.to_thread(self.load))

    def find(self, value: str) -> Optional[Token]:
        """The token whose value this is, as last read (revoked ones included)."""
        digest = token_hash(value)
        token = self.by_hash.get(digest)
        return token if token is not None and same_hash(token.hash, digest) else None

    async def lookup(self, value: str) -> Optional[Token]:
        """`find`, else the database's row of that token (within the limit of such lookups)."""
        token = self.find(value)
        if token is not None:
            return token
        try:
            self._misses.acquire("miss", Limit(per_minute=MISS_LOOKUPS_PER_MINUTE)).release()
        except RateLimited:
            return None
        try:
            token = await asyncio.to_thread(self.load_one, token_hash(value))
        except Exception as error:  # the token stays unknown
            logger.warning("Looking up a token failed: %s", error)
            return None
        if token is not None:
            self.by_hash[token.hash] = token
            self.by_id[token.id] = token
        return token

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        for task in (self._task, self._refreshing):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception as error:  # the database went away: keep the last known tokens
                logger.warning("Reading the tokens failed (the last known ones stay in use): %s", error)
