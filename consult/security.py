"""Passwords (argon2), single-use link tokens, salted IP hashes and rate limits."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from zxcvbn.frequency_lists import FREQUENCY_LISTS

log = logging.getLogger("consult.security")
_hasher = PasswordHasher()
# A valid hash of a random password: checked when the e-mail is unknown, so that both paths cost the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common leaked passwords; a few Vietnamese favourites are added.
    extra = {"matkhau", "matkhau123", "matkhau1234", "anhyeuem", "anhyeuem123", "iloveyou123", "vietnam123"}
    return frozenset(FREQUENCY_LISTS["passwords"]) | extra


def is_common_password(password: str) -> bool:
    lowered = password.lower()
    if lowered in _common_passwords():
        return True
    # "password2024", "qwerty!!": a common word with digits or symbols around it is still common.
    core = lowered.strip("0123456789!@#$%^&*.-_ ")
    return len(core) >= 4 and core in _common_passwords() and len(set(lowered) - set(core)) <= 4


def new_token() -> tuple[str, str]:
    """A URL-safe token and the hash stored in place of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ip_hash(secret_key: str, address: str | None) -> str:
    """IP addresses are only kept as salted hashes."""
    return hmac.new(secret_key.encode(), (address or "").encode(), hashlib.sha256).hexdigest()[:32]


def participant_key_secret(secret_key: str) -> str:
    """The key of the participant codes in exports and open data, derived for that one use so that a
    published code never helps anyone guess a value signed with the site's key itself."""
    return hmac.new(secret_key.encode(), b"participant-key", hashlib.sha256).hexdigest()


class RateLimiter:
    """Moving-window limits, in Redis when configured (shared by every process), in memory otherwise."""

    def __init__(self, redis_url: str = ""):
        storage: Storage
        if redis_url:
            # redis-py, which arq already brings, rather than limits' default client (coredis).
            storage = RedisStorage("async+" + redis_url.removeprefix("async+"), implementation="redispy")
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    async def hit(self, rule: str, *keys: str) -> bool:
        """Counts one attempt; False when the limit was already reached."""
        item = parse(rule)
        try:
            return await self.limiter.hit(item, *keys)
        except Exception:  # the store is down: do not lock everybody out, and say so in the log
            log.exception("rate limit store unavailable")
            return True

    async def test(self, rule: str, *keys: str) -> bool:
        try:
            return await self.limiter.test(parse(rule), *keys)
        except Exception:
            return True

    async def clear(self, rule: str, *keys: str) -> None:
        try:
            await self.limiter.clear(parse(rule), *keys)
        except Exception:
            pass

    async def reset(self) -> None:
        await self.storage.reset()

    async def close(self) -> None:
        if isinstance(self.storage, RedisStorage):
            try:
                await self.storage.bridge.storage.aclose()
            except Exception:
                log.debug("rate limit store did not close cleanly", exc_info=True)
