"""/api/notes/: thin views over the selectors (reads) and services (writes)."""

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from core.pagination import paginated_response, paginated_schema
from core.permissions import IsOwner
from core.query import ApiView, PageQuery
from notes.models import Note
from notes.selectors import note_get, note_list
from notes.serializers import NoteSerializer
from notes.services import note_create, note_delete, note_update


class NoteListView(ApiView):
    """GET /api/notes/: your notes, newest first, paginated; POST: a new note."""

    permission_classes = [IsAuthenticated]
    query_parameters = {"GET": PageQuery}

    # Its own operation id: spectacular would name both GETs "notes_retrieve".
    @extend_schema(operation_id="notes_list", responses=paginated_schema(NoteSerializer))
    def get(self, request: Request) -> Response:
        notes = note_list(owner=cast(User, request.user))  # IsAuthenticated ran first
        return paginated_response(request=request, view=self, queryset=notes, serializer_class=NoteSerializer)

    @extend_schema(request=NoteSerializer, responses={201: NoteSerializer})
    def post(self, request: Request) -> Response:
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = note_create(owner=cast(User, request.user), **serializer.validated_data)
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class NoteDetailView(ApiView):
    """GET, PUT, PATCH, DELETE /api/notes/{id}/: one of your notes; another user's is a 404."""

    permission_classes = [IsAuthenticated, IsOwner]

    def note(self, request: Request, note_id: int) -> Note:
        note = note_get(owner=cast(User, request.user), note_id=note_id)
        self.check_object_permissions(request, note)  # the backstop behind the scoped read
        return note

    @extend_schema(responses=NoteSerializer)
    def get(self, request: Request, note_id: int) -> Response:
        return Response(NoteSerializer(self.note(request, note_id)).data)

    @extend_schema(request=NoteSerializer, responses=NoteSerializer)
    def put(self, request: Request, note_id: int) -> Response:
        return self.update(request, note_id, partial=False)

    @extend_schema(request=NoteSerializer, responses=NoteSerializer)
    def patch(self, request: Request, note_id: int) -> Response:
        return self.update(request, note_id, partial=True)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, note_id: int) -> Response:
        note_delete(note=self.note(request, note_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def update(self, request: Request, note_id: int, *, partial: bool) -> Response:
        note = self.note(request, note_id)
        serializer = NoteSerializer(note, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return Response(NoteSerializer(note_update(note=note, data=serializer.validated_data)).data)
