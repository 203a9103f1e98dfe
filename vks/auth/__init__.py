"""Authentication: password hashing (argon2) and bearer tokens (JWT, HS256)."""
