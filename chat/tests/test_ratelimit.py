"""The send rate limit: a token bucket shared through the cache."""

import threading

from django.core.cache import caches
from django.test import SimpleTestCase, override_settings

from chat.errors import RateLimited
from chat.ratelimit import require_token, take_token, wait_in_words

from .servers import RedisServer


class BucketBehaviour:
    """The same behaviour, whichever cache holds the bucket."""

    def test_capacity_then_refused_with_the_wait(self):
        waits = [take_token(key="k1", capacity=10, period=10) for _ in range(11)]
        self.assertEqual(waits[:10], [0.0] * 10)
        # One token refills every second.
        self.assertGreater(waits[10], 0.9)
        self.assertLessEqual(waits[10], 1.0)

    def test_buckets_are_separate(self):
        for _ in range(3):
            take_token(key="k2", capacity=3, period=10)
        self.assertGreater(take_token(key="k2", capacity=3, period=10), 0)
        self.assertEqual(take_token(key="k3", capacity=3, period=10), 0)

    def test_a_refusal_says_the_wait_in_words_and_carries_it(self):
        refusal = "Slow down. Try again in {wait}."
        require_token(key="k5", capacity=1, period=600, refusal=refusal)
        with self.assertRaises(RateLimited) as refused:
            require_token(key="k5", capacity=1, period=600, refusal=refusal)
        self.assertEqual(refused.exception.detail, "Slow down. Try again in 10 minutes.")
        self.assertGreater(refused.exception.retry_after, 599)

    def test_concurrent_takers_get_exactly_the_capacity(self):
        barrier = threading.Barrier(20)
        allowed = []

        def take():
            barrier.wait()
            allowed.append(take_token(key="k4", capacity=10, period=1000) == 0)

        threads = [threading.Thread(target=take) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sum(allowed), 10)


class LocalBucketTests(BucketBehaviour, SimpleTestCase):
    def setUp(self):
        caches["default"].clear()


class RedisBucketTests(BucketBehaviour, SimpleTestCase):
    """On Redis the bucket is one atomic script, so every process shares it exactly."""

    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.settings_override = override_settings(
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": cls.redis.url,
                }
            }
        )
        cls.settings_override.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.settings_override.disable()
        cls.redis.stop()

    def setUp(self):
        caches["default"].clear()

    def test_the_bucket_lives_in_redis(self):
        take_token(key="shared", capacity=5, period=10)
        client = caches["default"]._cache.get_client(write=False)
        keys = [key.decode() for key in client.keys("*ratelimit:shared*")]
        self.assertEqual(len(keys), 1)
        self.assertEqual(float(client.hget(keys[0], "tokens")), 4.0)


class WaitInWordsTests(SimpleTestCase):
    def test_whole_minutes_rounded_up(self):
        cases = {0.2: "1 minute", 60: "1 minute", 61: "2 minutes", 900: "15 minutes"}
        for seconds, words in cases.items():
            with self.subTest(seconds=seconds):
                self.assertEqual(wait_in_words(seconds), words)
