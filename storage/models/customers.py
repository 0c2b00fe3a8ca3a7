"""Customers, their identities on every channel, products and holdings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, JSONType, UTCDateTime, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# The console's name search: `lower(name) COLLATE "C"` so that a prefix LIKE is an index range
# (any bytes, Chinese too), then id, so that a page of results is read in index order.
# PostgreSQL only (SQLite searches by scanning); an expression index SQLite cannot reflect,
# so it lives in its migration (0011) and `compared` keeps it out of the schema comparison.
NAME_SEARCH_INDEX = "ix_customers_name_search"
NAME_SEARCH_KEY = 'lower(name) COLLATE "C"'


MERGED = "merged_into_id IS NOT NULL"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        # The few merged records, for a merge's re-pointing of earlier merges and for the
        # foreign key's SET NULL when a customer is deleted: without it both scan every
        # customer (a merge at 1 M customers read the whole table).
        Index(
            "ix_customers_merged_into_id",
            "merged_into_id",
            postgresql_where=text(MERGED),
            sqlite_where=text(MERGED),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[str] = mapped_column(String(16), default="regular", index=True)
    blacklisted: Mapped[bool] = mapped_column(Boolean, default=False)
    blacklist_reason: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    marketing_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last campaign message sent: the frequency cap across all campaigns is checked and
    # moved in one conditional UPDATE of this row, so concurrent campaigns cannot both pass.
    last_campaign_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when this record was merged into another: the row stays so that old
    # references resolve, but it no longer owns identities or history.
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    identities: Mapped[list[CustomerIdentity]] = relationship(
        back_populates="customer", lazy="raise", foreign_keys="CustomerIdentity.customer_id"
    )
    holdings: Mapped[list[Holding]] = relationship(back_populates="customer", lazy="raise")


class CustomerIdentity(Base):
    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # phone | telegram | email
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities", lazy="raise")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), default="")
    monthly_price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))


class Holding(Base):
    __tablename__ = "holdings"
    __table_args__ = (
        UniqueConstraint("customer_id", "product_id"),
        Index("ix_holdings_product_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="RESTRICT"))
    since: Mapped[date] = mapped_column(Date)
    monthly_spend: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))

    customer: Mapped[Customer] = relationship(back_populates="holdings", lazy="raise")
    product: Mapped[Product] = relationship(lazy="raise")
