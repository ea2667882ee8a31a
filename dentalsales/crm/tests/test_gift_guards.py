"""Gifts: one record per form token or Idempotency-Key, deleting a gift not yet approved, value and date checks."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.crm import services
from dentalsales.crm.models import Gift
from dentalsales.crm.services.gifts import allowed_actions
from dentalsales.notifications.models import Notification

from .factories import ContactFactory, GiftFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def gift_post(customer, contact, token, **overrides):
    data = {
        "customer": customer.pk, "recipient": contact.pk, "kind": "gift", "description": "双击礼品", "value": "50",
        "given_on": local_today().isoformat(), "purpose": "学术交流", "token": token,
    }
    data.update(overrides)
    return data


def new_gift(actor, customer, **fields):
    contact = ContactFactory(customer=customer)
    values = dict(kind="gift", description="资料包", value="150.00", given_on=local_today(), purpose="学术交流")
    values.update(fields)
    return services.create_gift(actor=actor, customer=customer, recipient=contact.pk, **values)


def test_gift_form_carries_a_one_time_token(rep, customer):
    ContactFactory(customer=customer)

    response = client_for(rep).get(reverse("crm:gift_create") + f"?customer={customer.pk}")

    assert 'name="token"' in response.content.decode()


def test_double_submitted_gift_form_records_one_gift(rep, customer):
    contact = ContactFactory(customer=customer)
    client = client_for(rep)
    url = reverse("crm:gift_create") + f"?customer={customer.pk}"

    first = client.post(url, gift_post(customer, contact, "token-1"))
    second = client.post(url, gift_post(customer, contact, "token-1"))

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Gift.objects.count() == 1
    # A new form (new token) records a second gift on purpose.
    client.post(url, gift_post(customer, contact, "token-2"))
    assert Gift.objects.count() == 2


def test_same_token_of_another_user_is_not_shared(rep, supervisor, customer):
    contact = ContactFactory(customer=customer)

    services.create_gift(actor=rep, customer=customer, idempotency_key="k", recipient=contact.pk, kind="gift",
                         description="资料", value="10", given_on=local_today(), purpose="交流")
    services.create_gift(actor=supervisor, customer=customer, idempotency_key="k", recipient=contact.pk, kind="gift",
                         description="资料", value="10", given_on=local_today(), purpose="交流")

    assert Gift.objects.count() == 2


def test_api_idempotency_key_records_one_gift(api, rep, customer):
    contact = ContactFactory(customer=customer)
    body = {"customer": customer.pk, "recipient": contact.pk, "description": "资料", "value": "20.00",
            "given_on": local_today().isoformat(), "purpose": "交流"}

    first = api(rep).post("/api/v1/gifts/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    second = api(rep).post("/api/v1/gifts/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.data["id"] == second.data["id"]
    assert Gift.objects.count() == 1


def test_owner_deletes_draft_and_history_keeps_it(rep, customer):
    gift = new_gift(rep, customer)

    services.delete_gift(actor=rep, gift=gift, reason="重复录入")

    assert not Gift.objects.exists()
    deleted = Gift.history.filter(id=gift.pk, history_type="-").get()
    assert (deleted.history_user, deleted.history_change_reason) == (rep, "重复录入")


def test_supervisor_deletes_requested_gift_and_owner_is_told(rep, supervisor, customer, django_capture_on_commit_callbacks):
    gift = new_gift(rep, customer, value="900.00")
    services.request_gift_approval(actor=rep, gift=gift)

    assert "delete" in allowed_actions(Gift.objects.get(pk=gift.pk), supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_gift(actor=supervisor, gift=gift, reason="重复")

    assert not Gift.objects.exists()
    assert Notification.objects.filter(recipient=rep, title__startswith="Gift deleted").exists()


@pytest.mark.parametrize("status", ["approved", "given"])
def test_approved_or_given_gift_cannot_be_deleted(rep, customer, status):
    gift = GiftFactory(customer=customer, status=status)

    assert "delete" not in allowed_actions(gift, rep)
    with pytest.raises(InvalidTransition):
        services.delete_gift(actor=rep, gift=gift)
    assert Gift.objects.filter(pk=gift.pk).exists()


def test_other_team_cannot_delete(rep, rep2, customer):
    gift = new_gift(rep, customer)

    with pytest.raises(InvalidInput):
        services.delete_gift(actor=rep2, gift=gift)
    assert Gift.objects.filter(pk=gift.pk).exists()


def test_other_rep_of_same_team_cannot_delete(rep, team, customer):
    from dentalsales.accounts.roles import Role
    from dentalsales.testing import factories as f

    colleague = f.UserFactory(roles=[Role.REPRESENTATIVE], team=team)
    gift = new_gift(rep, customer)

    # A colleague does not see the customer, so the gift is not found; a
    # supervisor of the team is the only other person who may delete it.
    with pytest.raises((InvalidInput, NotPermitted)):
        services.delete_gift(actor=colleague, gift=gift)
    assert Gift.objects.filter(pk=gift.pk).exists()


def test_delete_on_screen_and_api_per_role(api, rep, rep2, finance, customer):
    first = new_gift(rep, customer)
    second = new_gift(rep, customer)

    page = client_for(rep).get(reverse("crm:gift_detail", args=[first.pk])).content.decode()
    assert 'data-testid="gift-delete"' in page
    assert client_for(rep2).post(reverse("crm:gift_action", args=[first.pk, "delete"])).status_code == 404
    assert client_for(finance).post(reverse("crm:gift_action", args=[first.pk, "delete"])).status_code == 403
    response = client_for(rep).post(reverse("crm:gift_action", args=[first.pk, "delete"]), {"reason": "重复"})
    assert response.status_code == 302
    assert not Gift.objects.filter(pk=first.pk).exists()

    assert api(rep2).delete(f"/api/v1/gifts/{second.pk}/").status_code == 404
    assert api(finance).delete(f"/api/v1/gifts/{second.pk}/").status_code == 403
    assert api(rep).delete(f"/api/v1/gifts/{second.pk}/?reason=重复").status_code == 204
    assert not Gift.objects.exists()


def test_value_with_three_decimals_is_refused_naming_it(rep, customer):
    with pytest.raises(InvalidInput) as error:
        new_gift(rep, customer, value="12.345")

    assert "12.345" in str(error.value)
    assert error.value.field == "value"
    assert new_gift(rep, customer, value="12.340").value == Gift._meta.get_field("value").to_python("12.34")


def test_implausible_value_is_refused(rep, customer, api):
    with pytest.raises(InvalidInput) as error:
        new_gift(rep, customer, value="99999999")

    assert "99999999" in str(error.value)
    contact = ContactFactory(customer=customer)
    response = api(rep).post("/api/v1/gifts/", {
        "customer": customer.pk, "recipient": contact.pk, "description": "资料", "value": "12.345",
        "given_on": local_today().isoformat(), "purpose": "交流",
    }, format="json")
    assert response.status_code == 400
    assert "12.345" in response.data["detail"]


def test_gift_dated_in_future_cannot_be_marked_given(rep, customer):
    later = local_today() + datetime.timedelta(days=7)
    gift = new_gift(rep, customer, given_on=later)

    with pytest.raises(InvalidTransition) as error:
        services.mark_gift_given(actor=rep, gift=gift)

    assert later.isoformat() in str(error.value)
    assert Gift.objects.get(pk=gift.pk).status == "draft"
