from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address: the X-Forwarded-For entry Nginx wrote (it overwrites, never appends)."""
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    return forwarded.split(",")[-1].strip() or str(request.META.get("REMOTE_ADDR", ""))
