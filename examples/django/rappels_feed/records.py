"""The platform's models as records of rappels' scenario format (RULES.md).

Written for the models of the original MyKarfour system (app `rappels`: Eleve, Parent,
SessionRevisionProgrammee); adapt the field names to yours.
"""
import datetime as dt

from django.conf import settings


def instant(value):
    """An aware datetime as RFC 3339 UTC, to the microsecond at most (what rappels stores)."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def now_rfc3339():
    return instant(dt.datetime.now(dt.timezone.utc))


def student_record(eleve):
    user = eleve.user
    record = {
        "id": eleve.pk,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "account_active": eleve.account_active and user.is_active,
        "subscription_active": eleve.subscription_active,
        "created_at": instant(eleve.created_at or user.date_joined),
        "last_activity_at": instant(last_activity(eleve)),
    }
    if eleve.timezone:
        record["timezone"] = eleve.timezone
    return record


def last_activity(eleve):
    """The later of the platform's own activity field and the last login (which the
    feed's activity lines carry): an export must not move it back."""
    known = [t for t in (eleve.last_activity_at, eleve.user.last_login) if t is not None]
    return max(known) if known else None


def parent_record(parent):
    user = parent.user
    return {
        "id": parent.pk,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "children": sorted(parent.children.values_list("pk", flat=True)),
    }


def session_record(session):
    return {
        "id": session.pk,
        "student_id": session.eleve_id,
        "subject": session.matiere,
        "objective": session.objectif,
        "starts_at": instant(session.starts_at),
        "duration_minutes": session.duration_minutes,
        "status": session.status,
    }


def scenario_settings():
    """The settings of the export: the platform's time zone; rappels' own configuration
    (rappels.toml) sets the hours."""
    return {"timezone": settings.TIME_ZONE}
