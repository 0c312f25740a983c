from django.urls import path

from notes.views import NoteDetailView, NoteListView

urlpatterns = [
    path("notes/", NoteListView.as_view(), name="note-list"),
    path("notes/<int:note_id>/", NoteDetailView.as_view(), name="note-detail"),
]
