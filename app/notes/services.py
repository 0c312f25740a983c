"""Writes on notes: each takes the note's owner or the note itself, never a request."""

from typing import Any

from accounts.models import User
from notes.models import Note


def note_create(*, owner: User, title: str, body: str = "") -> Note:
    """A new note of this owner's."""
    return Note.objects.create(owner=owner, title=title, body=body)


def note_update(*, note: Note, data: dict[str, Any]) -> Note:
    """The note with the validated fields in `data` changed and saved."""
    for name, value in data.items():
        setattr(note, name, value)
    note.save(update_fields=[*data, "updated_at"])
    return note


def note_delete(*, note: Note) -> None:
    """Delete the note."""
    note.delete()
