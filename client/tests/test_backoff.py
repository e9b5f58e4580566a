"""Full jitter: a wait anywhere between zero and the attempt's ceiling, the ceiling capped."""

from chat_client import Backoff


def test_the_ceiling_doubles_up_to_the_cap():
    backoff = Backoff(base=0.5, cap=4.0)
    assert [backoff.ceiling(attempt) for attempt in range(6)] == [0.5, 1, 2, 4, 4, 4]
    assert backoff.ceiling(10_000) == 4.0  # no overflow on a long outage


def test_the_wait_is_uniform_between_zero_and_the_ceiling():
    assert Backoff(base=1, cap=30, random=lambda: 0.0).delay(3) == 0.0
    assert Backoff(base=1, cap=30, random=lambda: 0.5).delay(3) == 4.0
    assert Backoff(base=1, cap=30, random=lambda: 0.999).delay(10) < 30
    waits = {Backoff(base=1, cap=30).delay(4) for _ in range(50)}
    assert len(waits) > 1 and all(0 <= wait < 16 for wait in waits)
