"""`python manage.py export_rappels > export.json`: the whole school in rappels' scenario
format, for `rappels import --mode full` (nightly, under the feed, to repair what it
missed: changes made with update() or raw SQL send no signals)."""
import json

from django.core.management.base import BaseCommand

from rappels.models import Eleve, Parent, SessionRevisionProgrammee
from rappels_feed.records import parent_record, scenario_settings, session_record, student_record


class Command(BaseCommand):
    help = "Writes the school as a rappels scenario (JSON) on standard output."

    def handle(self, *args, **options):
        out = self.stdout
        out.write('{"settings": ' + json.dumps(scenario_settings()))
        # Streamed a record at a time: a big school does not fit a json.dumps of it all.
        lists = [
            ("students", Eleve.objects.select_related("user").order_by("pk"), student_record),
            ("parents", Parent.objects.select_related("user").prefetch_related("children").order_by("pk"), parent_record),
            ("sessions", SessionRevisionProgrammee.objects.order_by("pk"), session_record),
        ]
        for name, queryset, record in lists:
            out.write(f', "{name}": [', ending="")
            for i, row in enumerate(queryset.iterator(chunk_size=2000)):
                out.write(("," if i else "") + json.dumps(record(row), ensure_ascii=False), ending="")
            out.write("]", ending="")
        out.write("}")
