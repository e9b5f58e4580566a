"""Make a bot's account and its first API token (printed once)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from api import services as tokens
from chat import services
from chat.errors import ChatError


class Command(BaseCommand):
    help = "Create a bot account (no password, marked as a bot) and print an API token for it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--display-name", default="", help="Shown beside the username.")
        parser.add_argument(
            "--scope", choices=["read", "write"], default="write", help="The token's scope."
        )

    def handle(self, *args, username, display_name, scope, **options):
        try:
            with transaction.atomic():  # a bot without its token is of no use: both or none
                bot = services.bot_create(username=username, display_name=display_name)
                _token, raw = tokens.token_create(
                    user=bot, name="created with the bot", scope=scope
                )
        except ChatError as error:
            raise CommandError(error.detail) from None
        self.stderr.write(f"Bot {bot.username} created. Its token (shown once, keep it safe):")
        self.stdout.write(raw)
