"""Texts of third-party apps that ship no Simplified Chinese translation.

makemessages collects them from here, so that the admin and the sign-in
lockout pages read in Chinese. Nothing imports this module.
"""

from django.utils.translation import gettext_noop

THIRD_PARTY_STRINGS = [
    # django.contrib.admin 5.2, table headers of the app list on the index page.
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    # django-axes models.
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Access Attempt"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
]
