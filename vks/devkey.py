"""The development signing key: when `VKS_SECRET_KEY` is unset (and not in production),
tokens are signed with 32 random bytes kept in `<data_dir>/secret.key` (mode 0600), made
on first use. A key of proper length (RFC 7518 §3.2: at least 256 bits for HS256) keeps
PyJWT quiet, and a key per data directory is not one every clone shares."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "secret.key"
KEY_BYTES = 32


def development_key(data_dir: Path) -> str:
    """The key kept in `data_dir`, made (atomically: two processes agree) if missing."""
    path = data_dir / FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{FILE_NAME}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
        try:
            os.link(draft, path)  # fails if another process made it first: theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 2 * KEY_BYTES:
        raise ValueError(f"{path}: not a development key (delete it to make a new one)")
    return key
