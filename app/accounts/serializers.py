from rest_framework import serializers

from accounts.models import User


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user as the API shows it."""

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "date_joined"]
        read_only_fields = fields
