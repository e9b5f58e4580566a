"""Make the search index again from the messages stored (chat/search/index.py)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from chat.search import index


class Command(BaseCommand):
    help = "Rebuild the full-text index of message bodies from the messages not deleted."

    def handle(self, *args, **options):
        with transaction.atomic():
            count = index.rebuild()
        self.stdout.write(f"Indexed {count} messages.")
