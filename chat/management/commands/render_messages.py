"""manage.py render_messages: store the HTML of messages that have none, or of all."""

from django.core.management.base import BaseCommand

from chat.services.message_html import BATCH_SIZE, messages_render


class Command(BaseCommand):
    help = (
        "Render the HTML of stored messages that have none (migration 0008 does it once); "
        "with --all, of every message, after the rendering rules changed. Open pages show "
        "the new HTML when they are loaded again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", dest="every", help="render every message again"
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per batch")

    def handle(self, *args, every, batch_size, verbosity, **options):
        if batch_size < 1:
            self.stderr.write("--batch-size must be at least 1.")
            return
        progress = (lambda done: self.stdout.write(f"{done} rendered")) if verbosity > 1 else None
        done = messages_render(every=every, batch_size=batch_size, progress=progress)
        self.stdout.write(f"{done} message(s) rendered.")
