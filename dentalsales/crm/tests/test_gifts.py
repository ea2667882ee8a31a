import datetime
from decimal import Decimal

import pytest

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.crm import selectors, services
from dentalsales.crm.models import CrmPolicy
from dentalsales.notifications.models import Notification
from dentalsales.testing import factories as f

from .factories import ContactFactory, GiftFactory

pytestmark = pytest.mark.django_db


def new_gift(actor, customer, value="150.00", **fields):
    contact = fields.pop("recipient", None) or ContactFactory(customer=customer)
    values = dict(kind="gift", description="口腔医学年会资料包", value=value, given_on=local_today(), purpose="学术交流")
    values.update(fields)
    return services.create_gift(actor=actor, customer=customer, recipient=contact.pk, **values)


def test_small_gift_given_without_approval(rep, customer):
    gift = new_gift(rep, customer, value="200.00")

    gift = services.mark_gift_given(actor=rep, gift=gift)

    assert gift.status == "given"


def test_large_gift_needs_approval_before_given(rep, supervisor, customer, django_capture_on_commit_callbacks):
    gift = new_gift(rep, customer, value="200.01")

    with pytest.raises(InvalidTransition):
        services.mark_gift_given(actor=rep, gift=gift)

    with django_capture_on_commit_callbacks(execute=True):
        services.request_gift_approval(actor=rep, gift=gift)
    assert Notification.objects.filter(recipient=supervisor, category="gift").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_gift(actor=supervisor, gift=gift)
    assert Notification.objects.filter(recipient=rep, category="gift").count() == 1
    gift = services.mark_gift_given(actor=rep, gift=gift)
    assert gift.status == "given"
    assert gift.decided_by == supervisor


def test_threshold_configurable(rep, customer):
    CrmPolicy.objects.update(gift_approval_threshold=Decimal("50.00"))
    gift = new_gift(rep, customer, value="80.00")

    with pytest.raises(InvalidTransition):
        services.mark_gift_given(actor=rep, gift=gift)


def test_rejection_needs_reason_and_allows_rework(rep, supervisor, customer):
    gift = new_gift(rep, customer, value="900.00")
    services.request_gift_approval(actor=rep, gift=gift)

    with pytest.raises(InvalidInput):
        services.reject_gift(actor=supervisor, gift=gift, reason="")
    gift = services.reject_gift(actor=supervisor, gift=gift, reason="超出标准")
    assert gift.status == "rejected"

    gift = services.update_gift(actor=rep, gift=gift, value="600.00")
    assert gift.status == "requested"
    assert gift.decision_reason == ""


def test_rep_cannot_approve_and_other_team_cannot_see(rep, rep2, customer):
    gift = new_gift(rep, customer, value="900.00")
    services.request_gift_approval(actor=rep, gift=gift)

    with pytest.raises(NotPermitted):
        services.approve_gift(actor=rep, gift=gift)
    other_supervisor = f.UserFactory(username="sup2", roles=["supervisor"])
    with pytest.raises(InvalidInput) as error:
        services.approve_gift(actor=other_supervisor, gift=gift)
    assert error.value.code == "not_found"


def test_approver_never_approves_own_gift(supervisor):
    customer = f.CustomerFactory(owner=supervisor)
    gift = new_gift(supervisor, customer, value="900.00")
    services.request_gift_approval(actor=supervisor, gift=gift)

    with pytest.raises(NotPermitted):
        services.approve_gift(actor=supervisor, gift=gift)


@pytest.mark.parametrize(
    ("field", "value"),
    [("value", "abc"), ("value", "0"), ("value", "-5"), ("given_on", "2026/13/01"), ("description", ""), ("purpose", ""), ("kind", "cash")],
)
def test_bad_values_name_field(rep, customer, field, value):
    with pytest.raises(InvalidInput) as error:
        new_gift(rep, customer, **{field: value})

    assert error.value.field == field


def test_recipient_must_be_customers_contact(rep, customer):
    stranger = ContactFactory(customer=f.CustomerFactory(owner=rep))

    with pytest.raises(InvalidInput) as error:
        new_gift(rep, customer, recipient=stranger)

    assert error.value.field == "recipient"


def test_gift_totals_and_report(rep, rep2, manager, customer):
    this_year = local_today().year
    GiftFactory(customer=customer, value=Decimal("100.00"))
    GiftFactory(customer=customer, value=Decimal("50.50"))
    GiftFactory(customer=customer, value=Decimal("999.00"), status="requested")
    GiftFactory(customer=customer, value=Decimal("70.00"), given_on=datetime.date(this_year - 1, 6, 1))
    GiftFactory(customer=f.CustomerFactory(owner=rep2), value=Decimal("30.00"))

    totals = selectors.customer_gift_totals(customer)
    assert [(row["year"], row["total"], row["count"]) for row in totals] == [
        (this_year, Decimal("150.50"), 2), (this_year - 1, Decimal("70.00"), 1),
    ]
    by_customer, by_owner = selectors.gift_report(manager, year=this_year)
    assert [(row["customer"], row["total"]) for row in by_customer] == [(customer.pk, Decimal("150.50")), (by_customer[1]["customer"], Decimal("30.00"))]
    assert {row["owner"]: row["total"] for row in by_owner} == {rep.pk: Decimal("150.50"), rep2.pk: Decimal("30.00")}
    rep_by_customer, _rep_by_owner = selectors.gift_report(rep, year=this_year)
    assert [row["customer"] for row in rep_by_customer] == [customer.pk]
