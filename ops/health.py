"""Is this process able to serve? Each dependency is asked once, within a bound.

`/healthz` says the process answers at all (no dependency asked): a restart is the cure
when it does not. `/readyz` asks the database, the channel layer and the cache: a
process that can't reach one of them should get no traffic until it can.
"""

import asyncio
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

OK, FAILED, TIMEOUT = "ok", "failed", "timeout"


def _ask_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # A worker thread of its own: keep no connection open on it between checks.
        connection.close()


async def _ask_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    # A round trip to the layer's store (Redis) that delivers nothing: no one is in it.
    await layer.group_send("ops.readyz", {"type": "ops.readyz"})


def _ask_cache() -> None:
    token = uuid.uuid4().hex
    cache.set("ops:readyz", token, timeout=10)
    if cache.get("ops:readyz") != token:
        raise RuntimeError("the cache did not keep what was written")


# Threads of their own, not the loop's default executor: a probe stuck on a dead socket
# must not hold up the answer, nor the end of an event loop that would wait for it.
_probe_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


def _in_thread(ask):
    async def check():
        await asyncio.get_running_loop().run_in_executor(_probe_threads, ask)

    return check


CHECKS = {
    "database": _in_thread(_ask_database),
    "channel_layer": _ask_channel_layer,
    "cache": _in_thread(_ask_cache),
}


async def _run(name: str, check) -> str:
    seconds = settings.OPS_READY_TIMEOUT
    try:
        async with asyncio.timeout(seconds):
            await check()
    except TimeoutError:
        logger.warning("Readiness: %s did not answer within %s s.", name, seconds)
        return TIMEOUT
    except Exception as error:
        logger.warning("Readiness: %s failed: %s", name, error)
        return FAILED
    return OK


async def readiness() -> dict[str, str]:
    """Ask every dependency at once; return each one's answer: ok, failed or timeout."""
    names = list(CHECKS)
    answers = await asyncio.gather(*(_run(name, CHECKS[name]) for name in names))
    return dict(zip(names, answers, strict=True))
