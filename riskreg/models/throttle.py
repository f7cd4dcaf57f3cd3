"""Failed sign-in attempts, the default store of the sign-in throttle (riskreg.auth.throttle).

One row per failure and per counter it counts towards, kept only as long as the longest throttle window. The
key is a SHA-256 of the counter's name (account, client, account+client), so the table holds no address or
e-mail in clear. Kept in the database by default because every process of an installation shares it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from riskreg.models.base import Base, utcnow


class SignInFailure(Base):
    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
