"""Serving uploaded files through a view that has checked the user's permission.

Uploaded files (scans, contracts, receipts) hold personal and business data,
so nothing serves ``MEDIA_ROOT`` directly: each kind of file has a view that
finds the row among the rows the user may see and then returns
``protected_file_response``.
"""

import mimetypes

from django.http import FileResponse, Http404

# Shown in the browser; any other type is offered as a download.
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


def protected_file_response(field_file):
    """Return the stored file of ``field_file`` with its content type, inline for PDF and images; 404 when missing."""
    if not field_file:
        raise Http404
    name = field_file.name.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, content_type=content_type, as_attachment=content_type not in INLINE_TYPES, filename=name
    )
    # The type comes from the checked extension; the browser must not guess another.
    response["X-Content-Type-Options"] = "nosniff"
    return response
