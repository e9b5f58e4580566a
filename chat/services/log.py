"""The moderation log: who did what to whom, where, when and why."""

from ..models import ModerationAction, Room


def log_action(
    *, room: Room | None, actor, kind: str, target=None, detail: str = "", reason: str = ""
) -> ModerationAction:
    """Write one row of the moderation log, with names copied for after deletions."""
    return ModerationAction.objects.create(
        room=room,
        room_name=room.name if room is not None else "",
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        target=target,
        target_name=target.get_username() if target is not None else "",
        kind=kind,
        detail=detail[:200],
        reason=(reason or "").strip()[:500],
    )
