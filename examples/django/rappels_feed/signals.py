"""Appends each committed change of the platform to a JSON Lines file that
`rappels ingest` reads (RAPPELS_FEED, default /var/lib/rappels/changes.jsonl).

A line is written only once its transaction commits (`transaction.on_commit`), with
O_APPEND under an exclusive flock, so lines never interleave; if the cron job renamed the
file while this writer waited for the lock, the writer reopens the new file, so no line
goes into a batch already fed.
"""
import fcntl
import json
import os

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from rappels.models import Eleve, Parent, SessionRevisionProgrammee

from .records import instant, now_rfc3339, parent_record, session_record, student_record


def feed_path():
    return getattr(settings, "RAPPELS_FEED", "/var/lib/rappels/changes.jsonl")


def write_line(line):
    path = feed_path()
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                renamed = os.fstat(fd).st_ino != os.stat(path).st_ino
            except FileNotFoundError:
                renamed = True
            if not renamed:
                os.write(fd, line)
                return
        finally:
            os.close(fd)  # also releases the lock


def append(change):
    line = (json.dumps(change, ensure_ascii=False) + "\n").encode("utf-8")
    transaction.on_commit(lambda: write_line(line))


@receiver(post_save, sender=Eleve)
def student_saved(sender, instance, **kwargs):
    append({"student": student_record(instance)})


@receiver(post_delete, sender=Eleve)
def student_deleted(sender, instance, **kwargs):
    append({"delete": {"student": instance.pk}})


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def user_saved(sender, instance, update_fields=None, **kwargs):
    # A student's name, address or activation lives on their user. A login saves only
    # last_login, which the activity line below carries.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    eleve = getattr(instance, "eleve", None)
    if eleve is not None:
        append({"student": student_record(eleve)})


@receiver(post_save, sender=Parent)
def parent_saved(sender, instance, **kwargs):
    append({"parent": parent_record(instance)})


@receiver(post_delete, sender=Parent)
def parent_deleted(sender, instance, **kwargs):
    append({"delete": {"parent": instance.pk}})


@receiver(m2m_changed, sender=Parent.children.through)
def children_changed(sender, instance, action, pk_set, **kwargs):
    if not isinstance(instance, Parent):
        return
    if action == "post_add":
        for child in sorted(pk_set):
            append({"link": {"parent_id": instance.pk, "student_id": child}})
    elif action == "post_remove":
        for child in sorted(pk_set):
            append({"unlink": {"parent_id": instance.pk, "student_id": child}})
    elif action == "post_clear":
        append({"parent": parent_record(instance)})


@receiver(post_save, sender=SessionRevisionProgrammee)
def session_saved(sender, instance, **kwargs):
    append({"session": session_record(instance)})


@receiver(post_delete, sender=SessionRevisionProgrammee)
def session_deleted(sender, instance, **kwargs):
    append({"delete": {"session": instance.pk}})


@receiver(user_logged_in)
def logged_in(sender, request, user, **kwargs):
    eleve = getattr(user, "eleve", None)
    if eleve is not None:
        # Django's own receiver (update_last_login, connected first) has set last_login:
        # the export reads the same instant, so the two never disagree.
        at = instant(user.last_login) if user.last_login else now_rfc3339()
        append({"activity": {"student_id": eleve.pk, "at": at}})
