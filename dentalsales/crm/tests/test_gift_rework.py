"""Every gift transition, and how a rejected gift comes back after the representative changes it."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.errors import InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.crm import services
from dentalsales.crm.models import CrmPolicy
from dentalsales.crm.services.gifts import allowed_actions
from dentalsales.notifications.models import Notification

from .factories import ContactFactory

pytestmark = pytest.mark.django_db


def new_gift(actor, customer, value):
    contact = ContactFactory(customer=customer)
    return services.create_gift(
        actor=actor, customer=customer, recipient=contact.pk, kind="gift", description="口腔医学年会资料包",
        value=value, given_on=local_today(), purpose="学术交流",
    )


def rejected_gift(rep, supervisor, customer, value="900.00"):
    gift = new_gift(rep, customer, value)
    services.request_gift_approval(actor=rep, gift=gift)
    return services.reject_gift(actor=supervisor, gift=gift, reason="超出标准")


def test_rejected_gift_lowered_under_threshold_can_be_given(rep, supervisor, customer):
    gift = rejected_gift(rep, supervisor, customer)

    gift = services.update_gift(actor=rep, gift=gift, value="150.00")

    assert gift.status == "draft"
    assert gift.decided_by is None
    assert gift.decision_reason == ""
    assert allowed_actions(gift, rep) == ["edit", "give", "delete"]
    assert services.mark_gift_given(actor=rep, gift=gift).status == "given"
    assert gift.history.filter(status="rejected", decision_reason="超出标准").exists()


def test_rejected_gift_still_above_threshold_is_requested_again(rep, supervisor, customer, django_capture_on_commit_callbacks):
    gift = rejected_gift(rep, supervisor, customer)

    with django_capture_on_commit_callbacks(execute=True):
        gift = services.update_gift(actor=rep, gift=gift, value="500.00")

    assert gift.status == "requested"
    assert Notification.objects.filter(recipient=supervisor, category="gift", title__startswith="Gift to approve").count() == 1
    assert allowed_actions(gift, rep) == ["delete"]
    assert allowed_actions(gift, supervisor) == ["approve", "reject", "delete"]
    with pytest.raises(InvalidTransition):
        services.mark_gift_given(actor=rep, gift=gift)
    gift = services.approve_gift(actor=supervisor, gift=gift)
    assert services.mark_gift_given(actor=rep, gift=gift).status == "given"


def test_rejected_gift_exactly_at_threshold_needs_no_approval(rep, supervisor, customer):
    gift = rejected_gift(rep, supervisor, customer)

    gift = services.update_gift(actor=rep, gift=gift, value="200.00")

    assert gift.status == "draft"


def test_draft_edit_keeps_draft(rep, customer):
    gift = new_gift(rep, customer, "900.00")

    gift = services.update_gift(actor=rep, gift=gift, value="950.00")

    assert gift.status == "draft"
    assert allowed_actions(gift, rep) == ["edit", "request", "delete"]


@pytest.mark.parametrize("status", ["requested", "approved", "given"])
def test_gift_cannot_be_edited_after_draft(rep, supervisor, customer, status):
    gift = new_gift(rep, customer, "900.00")
    gift = services.request_gift_approval(actor=rep, gift=gift)
    if status in ("approved", "given"):
        gift = services.approve_gift(actor=supervisor, gift=gift)
    if status == "given":
        gift = services.mark_gift_given(actor=rep, gift=gift)

    with pytest.raises(InvalidTransition):
        services.update_gift(actor=rep, gift=gift, value="100.00")


def test_only_recorder_edits_rejected_gift(rep, supervisor, manager, customer):
    gift = rejected_gift(rep, supervisor, customer)

    with pytest.raises(NotPermitted):
        services.update_gift(actor=supervisor, gift=gift, value="100.00")
    gift.refresh_from_db()
    assert gift.status == "rejected"


# Every action from every state: (state, action) -> allowed


TRANSITION_TABLE = {
    ("draft", "request"): True, ("draft", "approve"): False, ("draft", "reject"): False, ("draft", "give"): False,
    ("requested", "request"): False, ("requested", "approve"): True, ("requested", "reject"): True, ("requested", "give"): False,
    ("approved", "request"): False, ("approved", "approve"): False, ("approved", "reject"): False, ("approved", "give"): True,
    ("rejected", "request"): True, ("rejected", "approve"): False, ("rejected", "reject"): False, ("rejected", "give"): False,
    ("given", "request"): False, ("given", "approve"): False, ("given", "reject"): False, ("given", "give"): False,
}


def gift_in(state, rep, supervisor, customer):
    gift = new_gift(rep, customer, "900.00")
    if state == "draft":
        return gift
    gift = services.request_gift_approval(actor=rep, gift=gift)
    if state == "requested":
        return gift
    if state == "rejected":
        return services.reject_gift(actor=supervisor, gift=gift, reason="超出标准")
    gift = services.approve_gift(actor=supervisor, gift=gift)
    if state == "approved":
        return gift
    return services.mark_gift_given(actor=rep, gift=gift)


@pytest.mark.parametrize(("state", "action"), sorted(TRANSITION_TABLE))
def test_gift_transition_table(rep, supervisor, customer, state, action):
    gift = gift_in(state, rep, supervisor, customer)
    calls = {
        "request": lambda: services.request_gift_approval(actor=rep, gift=gift),
        "approve": lambda: services.approve_gift(actor=supervisor, gift=gift),
        "reject": lambda: services.reject_gift(actor=supervisor, gift=gift, reason="不符合规定"),
        "give": lambda: services.mark_gift_given(actor=rep, gift=gift),
    }

    if TRANSITION_TABLE[(state, action)]:
        calls[action]()
    else:
        with pytest.raises(InvalidTransition):
            calls[action]()
        gift.refresh_from_db()
        assert gift.status == state


def test_web_edit_of_rejected_gift_says_where_it_went(rep, supervisor, customer):
    gift = rejected_gift(rep, supervisor, customer)
    client = Client(headers={"accept-language": "en"})
    client.force_login(rep)
    data = {
        "kind": "gift", "description": "口腔医学年会资料包", "value": "120.00", "given_on": local_today().isoformat(),
        "purpose": "学术交流", "recipient": str(gift.recipient_id),
    }

    response = client.post(reverse("crm:gift_edit", args=[gift.pk]), data, follow=True)

    assert "needs no approval" in response.content.decode()
    gift.refresh_from_db()
    assert gift.status == "draft"


def test_threshold_policy_applies_on_rework(rep, supervisor, customer):
    gift = rejected_gift(rep, supervisor, customer)
    CrmPolicy.objects.update(gift_approval_threshold=Decimal("1000.00"))

    gift = services.update_gift(actor=rep, gift=gift, description="改为资料包")

    assert gift.status == "draft"
