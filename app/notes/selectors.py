from django.db.models import QuerySet

from accounts.models import User
from notes.models import Note


def note_list(*, owner: User) -> QuerySet[Note]:
    """The user's own notes, newest first."""
    return Note.objects.filter(owner=owner)
