from django.contrib import admin
from django.urls import include, path

from core.admin_login import admin_login
from core.views import CachedSchemaView, HealthView, LiveView, SwaggerUIView

urlpatterns = [
    # Before the admin's own URLs, so that it is the one that answers (core/admin_login.py).
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("api/health/", HealthView.as_view(), name="health"),
    path("api/health/live/", LiveView.as_view(), name="health-live"),
    path("api/schema/", CachedSchemaView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP forbids inline scripts.
    path("api/docs/", SwaggerUIView.as_view(url_name="schema"), name="docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("notes.urls")),
    # Your resources: make startapp adds each one above this line.
]
