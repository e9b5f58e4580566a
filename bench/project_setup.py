"""Create benchmark users, their logged-in sessions and public rooms in the project's database.

Run with the same environment as the server under test (DATABASE_URL, DJANGO_SECRET_KEY):

    DATABASE_URL=sqlite:////tmp/x/db.sqlite3 python bench/project_setup.py --users 200 \
        --rooms bench-0,bench-1 --out sessions.json

Sessions are made as django.contrib.auth.login() makes them (user id, backend, session
hash), so no password hashing is needed per user; users and sessions are inserted in
bulk, in one transaction (5,000 users take about a second). Prints nothing; writes
{"users": [{"username": ..., "session": ...}, ...]} to --out.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--rooms", default="bench")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from datetime import timedelta

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from chat.models import Room

    with transaction.atomic():
        for slug in args.rooms.split(","):
            Room.objects.get_or_create(slug=slug, defaults={"name": slug})
        # No login by password: an unusable one costs no PBKDF2 round.
        password = make_password(None)
        names = [f"bench{i}" for i in range(args.users)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        User.objects.bulk_create(
            (User(username=name, password=password) for name in names if name not in existing),
            batch_size=1000,
        )
        backend = settings.AUTHENTICATION_BACKENDS[0]
        store = SessionStore()
        session_model = store.get_model_class()
        expire = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
        users, rows = [], []
        for user in User.objects.filter(username__in=names).order_by("id"):
            # What SessionStore.create() saves, without a query per session to check
            # that a random 32-character key is unused.
            key = get_random_string(32, VALID_KEY_CHARS)
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: backend,
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            rows.append(
                session_model(session_key=key, session_data=store.encode(data), expire_date=expire)
            )
            users.append({"username": user.username, "session": key})
        session_model.objects.bulk_create(rows, batch_size=1000)
    Path(args.out).write_text(json.dumps({"users": users}))


if __name__ == "__main__":
    main()
