"""Reads on users."""

from accounts.models import User


def email_is_taken(*, email: str, exclude: User | None = None) -> bool:
    """True when another user already has this email, compared case-insensitively."""
    others = User.objects.filter(email__iexact=email)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    return others.exists()
