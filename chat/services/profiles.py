"""What people show of themselves: their display name; and, set by staff, that an
account is a bot's."""

from django.db import transaction

from .. import events, ratelimit
from ..models import Membership, Profile
from ..records import member_data, user_record
from ..validation import clean_display_name

# A display name change tells every room the person is in: a bucket keeps that rare.
PROFILE_CHANGES = 10
PROFILE_CHANGES_PERIOD = 3600.0


@transaction.atomic
def profile_update(
    *, user, display_name, by_staff: bool = False, is_bot: bool | None = None
) -> dict:
    """Set the user's display name ("" for none); tell their rooms' member lists at once.

    People's own changes are rate-limited, staff's (from the admin) are not; only staff
    mark an account as a bot's or not (`is_bot`). Return the user's record.
    """
    name = clean_display_name(display_name)
    profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
    bot = profile.is_bot if is_bot is None or not by_staff else is_bot
    if profile.display_name == name and profile.is_bot == bot:  # nothing to tell
        return user_record(user)
    if not by_staff:
        ratelimit.require_token(
            key=f"profile:{user.pk}",
            capacity=PROFILE_CHANGES,
            period=PROFILE_CHANGES_PERIOD,
            refusal="You are changing your profile too often.",
        )
    profile.display_name, profile.is_bot = name, bot
    profile.save(update_fields=["display_name", "is_bot", "updated_at"])
    user.profile = profile  # what this request goes on to show
    memberships = Membership.objects.filter(user=user, banned=False)
    for membership in memberships.select_related("user__profile"):
        data = {"member": member_data(membership)}
        events.emit(events.Event(events.MEMBER_UPDATED, data, events.to_room(membership.room_id)))
    return user_record(user)
