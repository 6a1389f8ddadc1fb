"""Sign-in sessions: the refresh tokens of one login form a family; each refresh replaces the
token it used, and a token used twice means it was stolen, so its whole family is revoked."""
from __future__ import annotations

from datetime import datetime

import attrs


@attrs.define
class RefreshToken:
    """One refresh token (by its ``jti``) of a login's family."""

    id: str
    family_id: str
    user_id: str
    issued_at: datetime
    expires_at: datetime
    #: when it was exchanged for the next token of its family (a second use is a replay)
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and now < self.expires_at

    def use(self, now: datetime) -> None:
        self.used_at = now
