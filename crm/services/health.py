"""Liveness of the application's dependencies."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from crm.extensions import db

log = logging.getLogger(__name__)


def database_ok() -> bool:
    """True when the database answers a trivial query."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("database health check failed")
        db.session.rollback()
        return False
    return True
