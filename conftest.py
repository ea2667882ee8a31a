"""Fixtures shared by every app's tests: one persona per role and a ready-made order."""

import pytest
from django.utils import translation

from dentalsales.accounts.roles import Role
from dentalsales.testing import factories as f


@pytest.fixture(autouse=True)
def _english_messages(settings):
    """Make English the default language of tests, so they assert on the msgids.

    Pages and API answers follow the request's Accept-Language, so a test of
    the Chinese UI sends ``Accept-Language: zh-hans`` (a browser context
    with locale zh-CN does) or sets ``settings.LANGUAGE_CODE`` back.
    """
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hash test passwords with MD5, since PBKDF2 costs about a second per user; PBKDF2 hashes still verify."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture
def chinese_default(settings):
    """Restore the product's default language for a test of what a user without a language choice sees."""
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture
def regions(db):
    """Make sure the administrative divisions exist; a transactional test's flush deletes them."""
    from dentalsales.core.models import Region
    from dentalsales.core.regions import load_regions

    if not Region.objects.filter(code="510104").exists():
        load_regions(Region)


@pytest.fixture
def team(db):
    return f.TeamFactory()


@pytest.fixture
def supervisor(team):
    user = f.UserFactory(username="supervisor", roles=[Role.SUPERVISOR], team=team)
    team.supervisor = user
    team.save()
    return user


@pytest.fixture
def rep(team, supervisor):
    return f.UserFactory(username="rep", roles=[Role.REPRESENTATIVE], team=team)


@pytest.fixture
def rep2(db):
    """A representative in another team, whose supervisor is not ``supervisor``."""
    return f.UserFactory(username="rep2", roles=[Role.REPRESENTATIVE], team=f.TeamFactory())


@pytest.fixture
def manager(db):
    return f.UserFactory(username="manager", roles=[Role.MANAGER])


@pytest.fixture
def logistics(db):
    return f.UserFactory(username="logistics", roles=[Role.LOGISTICS])


@pytest.fixture
def finance(db):
    return f.UserFactory(username="finance", roles=[Role.FINANCE])


@pytest.fixture
def quality(db):
    return f.UserFactory(username="quality", roles=[Role.QUALITY_OFFICER])


@pytest.fixture
def warehouse(db):
    return f.WarehouseFactory()


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep)


@pytest.fixture
def product(db):
    return f.ProductFactory()


@pytest.fixture
def stocked_product(product, warehouse, logistics):
    f.receive(product, warehouse, quantity=100, actor=logistics)
    return product


@pytest.fixture
def api():
    """Return a function that gives an APIClient authenticated as the given user (session-less, forced)."""
    from rest_framework.test import APIClient

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for
