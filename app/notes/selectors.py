"""Reads on notes, always scoped to one owner."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from notes.models import Note


def note_list(*, owner: User) -> QuerySet[Note]:
    """The user's own notes, newest first."""
    return Note.objects.filter(owner=owner)


def note_get(*, owner: User, note_id: int) -> Note:
    """The user's note with this id; another user's note, or none, is a 404 (never a 403, so the
    ids of other users' notes are not revealed)."""
    return get_object_or_404(note_list(owner=owner), pk=note_id)
