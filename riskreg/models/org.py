"""Organisation: units (departments, bureaux, regional offices), users and the risk category taxonomy."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskreg.models.base import Base, enum_column, utcnow


class UnitKind(enum.StrEnum):
    GENERAL_SECRETARIAT_DEPT = "general_secretariat_dept"
    BUREAU = "bureau"
    REGIONAL_OFFICE = "regional_office"
    OTHER = "other"


class Role(enum.StrEnum):
    """Application roles (DESIGN.md "Who uses it")."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    TASKFORCE = "taskforce"
    SECRETARIAT = "secretariat"
    FOCAL_POINT = "focal_point"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.COORDINATOR: "Risk coordinator",
    Role.TASKFORCE: "Task force member",
    Role.SECRETARIAT: "Council secretariat",
    Role.FOCAL_POINT: "Department focal point",
    Role.VIEWER: "Viewer",
}


class OrgUnit(Base):
    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"))
    head_title: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")  # functional title, shown in exports
    role: Mapped[Role] = mapped_column(enum_column(Role))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Rotated on logout and password change so that a copied session cookie stops working (security.md A5).
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_urlsafe(32))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    org_unit: Mapped[OrgUnit | None] = relationship()

    # Flask-Login protocol, without importing Flask into the models.
    @property
    def is_authenticated(self) -> bool:
        return self.is_active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class RiskCategory(Base):
    __tablename__ = "risk_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("risk_categories.id", ondelete="RESTRICT"))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
