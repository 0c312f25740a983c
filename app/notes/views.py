from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.serializers import BaseSerializer

from accounts.models import User
from notes.models import Note
from notes.permissions import IsOwner
from notes.selectors import note_list
from notes.serializers import NoteSerializer


class NoteViewSet(viewsets.ModelViewSet):
    """/api/notes/: create, list (paginated), retrieve, update and delete your own notes.

    Another user's note is a 404, not a 403, so ids of other users' notes are not revealed.
    """

    serializer_class = NoteSerializer
    permission_classes = [IsAuthenticated, IsOwner]

    def get_queryset(self) -> QuerySet[Note]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no signed-in user
            return Note.objects.none()
        return note_list(owner=cast(User, self.request.user))  # IsAuthenticated ran first

    def perform_create(self, serializer: BaseSerializer[Note]) -> None:
        serializer.save(owner=self.request.user)
