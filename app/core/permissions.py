"""Permissions shared by every resource."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class IsOwner(BasePermission):
    """Only the owner may see or change an object (the queryset is already scoped; this is the backstop)."""

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return bool(obj.owner_id == request.user.pk)
