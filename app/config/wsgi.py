"""WSGI entry point: Gunicorn loads `config.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Import the URLconf and every view now, not on the first request: Gunicorn loads this module
# once, in its master (preload_app), so each worker it forks starts ready, and a broken import
# stops the server at start instead of failing requests. Nothing here may open a database
# connection: the workers would share its socket.
get_resolver().url_patterns  # noqa: B018  (the property imports the URLconf)
