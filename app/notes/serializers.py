from core.fields import StrictModelSerializer
from notes.models import Note


class NoteSerializer(StrictModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "title", "body", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
