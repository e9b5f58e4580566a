"""Create benchmark users, their logged-in sessions and public rooms in the project's database.

Run with the same environment as the server under test (DATABASE_URL, DJANGO_SECRET_KEY):

    DATABASE_URL=sqlite:////tmp/x/db.sqlite3 python bench/project_setup.py --users 200 \
        --rooms bench-0,bench-1 --out sessions.json

Sessions are made as django.contrib.auth.login() makes them (user id, backend, session
hash), so no password hashing is needed per user. Prints nothing; writes
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

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from chat.models import Room

    for slug in args.rooms.split(","):
        Room.objects.get_or_create(slug=slug, defaults={"name": slug})
    password = make_password("bench-password-1")
    names = [f"bench{i}" for i in range(args.users)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create(
        User(username=name, password=password) for name in names if name not in existing
    )
    backend = settings.AUTHENTICATION_BACKENDS[0]
    users = []
    for user in User.objects.filter(username__in=names).order_by("id"):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = backend
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        users.append({"username": user.username, "session": store.session_key})
    Path(args.out).write_text(json.dumps({"users": users}))


if __name__ == "__main__":
    main()
