import pytest
from django.core import mail
from django.urls import reverse

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import NotPermitted
from dentalsales.notifications import services
from dentalsales.notifications.models import Notification
from dentalsales.testing import factories as f


@pytest.mark.django_db
def test_notify_skips_duplicates_and_inactive_users(logistics, finance):
    inactive = f.UserFactory(username="gone", roles=[Role.LOGISTICS], is_active=False)

    created = services.notify([logistics, logistics, finance, inactive], title="Contract active", link="/x/")

    assert len(created) == 2
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"logistics", "finance"}


@pytest.mark.django_db
def test_users_with_roles_returns_active_holders(logistics, finance, rep):
    users = set(services.users_with_roles(Role.LOGISTICS, Role.FINANCE))

    assert users == {logistics, finance}


@pytest.mark.django_db(transaction=True)
def test_notify_emails_after_commit(logistics, finance):
    logistics.email = "wl@example.com"
    logistics.save()

    services.notify([logistics, finance], title="Contract HT-1 active", body="Read-only copy", link="/c/1/", email=True)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["wl@example.com"]
    assert "/c/1/" in mail.outbox[0].body
    assert Notification.objects.get(recipient=logistics).emailed_at is not None
    assert Notification.objects.get(recipient=finance).emailed_at is None


@pytest.mark.django_db
def test_mark_read_rejects_other_users_notification(logistics, finance):
    [notification] = services.notify([logistics], title="t")

    with pytest.raises(NotPermitted):
        services.mark_read(notification=notification, actor=finance)

    services.mark_read(notification=notification, actor=logistics)
    notification.refresh_from_db()
    assert notification.read_at is not None


@pytest.mark.django_db
def test_list_page_shows_own_notifications_only(client, logistics, finance, django_assert_max_num_queries):
    for index in range(3):
        services.notify([logistics], title=f"For logistics {index}")
    services.notify([finance], title="For finance")
    client.force_login(logistics)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("notifications:list"))

    content = response.content.decode()
    assert "For logistics 2" in content
    assert "For finance" not in content
    for index in range(30):
        services.notify([logistics], title=f"More {index}")
    with django_assert_max_num_queries(8):
        client.get(reverse("notifications:list"))


@pytest.mark.django_db
def test_open_marks_read_and_follows_local_link_only(client, logistics):
    [local] = services.notify([logistics], title="Local", link="/orders/")
    [external] = services.notify([logistics], title="External", link="https://example.com/")
    client.force_login(logistics)

    response = client.post(reverse("notifications:open", args=[local.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    response = client.post(reverse("notifications:open", args=[external.pk]))
    assert response["Location"] == reverse("notifications:list")
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_open_other_users_notification_is_404(client, logistics, finance):
    [notification] = services.notify([finance], title="Private")
    client.force_login(logistics)

    response = client.post(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 404


@pytest.mark.django_db
def test_badge_counts_unread(client, logistics):
    services.notify([logistics], title="One")
    services.notify([logistics], title="Two")
    client.force_login(logistics)

    response = client.get(reverse("notifications:badge"))

    assert 'data-testid="notification-count">2' in response.content.decode()


@pytest.mark.django_db
def test_api_lists_own_and_marks_read(api, logistics, finance):
    [own] = services.notify([logistics], title="Own")
    [other] = services.notify([finance], title="Other")
    client = api(logistics)

    listing = client.get("/api/v1/notifications/?unread=1").json()
    assert [row["title"] for row in listing["results"]] == ["Own"]
    assert client.post(f"/api/v1/notifications/{other.pk}/read/").status_code == 404
    assert client.post(f"/api/v1/notifications/{own.pk}/read/").json()["read_at"] is not None
    assert client.get("/api/v1/notifications/?unread=1").json()["results"] == []
    services.notify([logistics], title="Again")
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked_read": 1}
