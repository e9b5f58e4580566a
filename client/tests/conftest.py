"""Make chat_client and the examples importable without installing the package."""

import sys
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parents[1]
for path in (CLIENT_DIR, CLIENT_DIR / "examples"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
