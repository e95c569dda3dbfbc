"""The platform's side of examples/django/test.sh: `before` builds a small school through
the ORM, `changes` changes it as users of the platform would (each change goes through the
signals of rappels_feed), `check PLAN FEED` checks what rappels planned from the export and
the feed, and what the feed holds."""
import datetime as dt
import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.signals import user_logged_in  # noqa: E402
from django.db import transaction  # noqa: E402

from rappels.models import Eleve, Parent, SessionRevisionProgrammee  # noqa: E402

User = get_user_model()
UTC = dt.timezone.utc


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def student(n, first):
    user = User.objects.create(username=f"eleve{n}", first_name=first, email=f"{first.lower()}@example.org")
    return Eleve.objects.create(
        user=user,
        subscription_active=True,
        created_at=at("2026-09-01T08:00:00"),
        last_activity_at=at("2026-11-25T19:00:00"),
    )


def session(eleve, subject, starts):
    return SessionRevisionProgrammee.objects.create(eleve=eleve, matiere=subject, starts_at=at(starts))


def before():
    awa, lucas, noah = student(1, "Awa"), student(2, "Lucas"), student(3, "Noah")
    mariam = Parent.objects.create(user=User.objects.create(username="mariam", first_name="Mariam", email="mariam@example.org"))
    mariam.children.add(awa, lucas)
    session(awa, "Mathématiques", "2026-11-27T14:00:00")
    session(lucas, "Physique", "2026-11-27T15:00:00")
    session(noah, "Chimie", "2026-11-27T16:00:00")


def changes():
    awa = Eleve.objects.get(user__username="eleve1")
    lucas = Eleve.objects.get(user__username="eleve2")
    noah = Eleve.objects.get(user__username="eleve3")
    # Lucas's session is cancelled, Noah's deleted, Awa books another one.
    cancelled = SessionRevisionProgrammee.objects.get(eleve=lucas)
    cancelled.status = "cancelled"
    cancelled.save()
    SessionRevisionProgrammee.objects.get(eleve=noah).delete()
    session(awa, "Français", "2026-11-27T16:30:00")
    # Mariam is no longer Lucas's parent; Awa changes her name.
    Parent.objects.get(user__username="mariam").children.remove(lucas)
    awa.user.last_name = "Koné"
    awa.user.save()
    # Noah logs in.
    user_logged_in.send(sender=User, request=None, user=noah.user)
    # A save that is rolled back writes nothing to the feed.
    try:
        with transaction.atomic():
            session(noah, "Rollback", "2026-11-27T17:00:00")
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass


def check(plan_file, feed_file):
    plan = json.load(open(plan_file))
    due = sorted((d["kind"], d["student_id"], d["session_id"]) for d in plan["due"] if d["kind"] == "session_eve")
    awa_sessions = sorted(s.pk for s in SessionRevisionProgrammee.objects.filter(eleve__user__username="eleve1"))
    expected = sorted(("session_eve", Eleve.objects.get(user__username="eleve1").pk, pk) for pk in awa_sessions)
    assert due == expected, f"planned {due}, expected {expected}"
    kinds = [next(iter(json.loads(line))) for line in open(feed_file) if line.strip()]
    for kind in ("session", "delete", "unlink", "student", "activity"):
        assert kind in kinds, f"no {kind} line in the feed: {kinds}"
    lines = open(feed_file).read()
    assert "Rollback" not in lines, "a rolled-back save reached the feed"
    print(f"planned {len(due)} eve reminders, as the platform's data says; feed: {kinds}")


if __name__ == "__main__":
    {"before": before, "changes": changes, "check": lambda: check(*sys.argv[2:4])}[sys.argv[1]]()
