import datetime
from decimal import Decimal

import pytest

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.crm import selectors, services
from dentalsales.crm.models import Prospect, ProspectStage
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer, GradeChange, Qualification
from dentalsales.sales.services import approve_order, submit_order
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def make_prospect(actor, name="成都锦江口腔门诊部", source="exhibition"):
    return services.create_prospect(actor=actor, source=source, name=name, customer_type="clinic")


def test_create_prospect_makes_potential_customer(rep):
    prospect = make_prospect(rep)

    assert prospect.customer.category == "potential"
    assert prospect.customer.owner == rep
    assert prospect.stage == ProspectStage.NEW
    changes = list(prospect.stage_changes.values_list("from_stage", "to_stage"))
    assert changes == [("", "new")]


def test_create_prospect_rejects_unknown_source(rep):
    with pytest.raises(InvalidInput) as error:
        make_prospect(rep, source="fax")

    assert error.value.field == "source"
    assert "fax" in str(error.value)
    assert not Prospect.objects.exists()


def test_create_prospect_customer_error_names_field(rep):
    with pytest.raises(InvalidInput) as error:
        services.create_prospect(actor=rep, source="web", name="某诊所", customer_type="clinic", uscc="123")

    assert "uscc" in error.value.field_errors
    assert not Prospect.objects.exists()


def test_finance_cannot_create_prospect(finance):
    with pytest.raises(NotPermitted):
        make_prospect(finance)


def test_stage_moves_and_lost_needs_reason(rep):
    prospect = make_prospect(rep)
    services.change_prospect_stage(actor=rep, prospect=prospect, stage="contacted")

    with pytest.raises(InvalidInput) as error:
        services.change_prospect_stage(actor=rep, prospect=prospect, stage="lost")
    assert error.value.field == "reason"

    prospect = services.change_prospect_stage(actor=rep, prospect=prospect, stage="lost", reason="选择了竞争对手")
    assert prospect.stage == "lost"
    assert prospect.lost_reason == "选择了竞争对手"
    assert prospect.stage_changes.count() == 3


def test_stage_cannot_jump_to_won(rep):
    prospect = make_prospect(rep)

    with pytest.raises(InvalidTransition):
        services.change_prospect_stage(actor=rep, prospect=prospect, stage="won")


def test_other_rep_cannot_change_stage(rep, rep2):
    prospect = make_prospect(rep)

    with pytest.raises(InvalidInput) as error:
        services.change_prospect_stage(actor=rep2, prospect=prospect, stage="contacted")
    assert error.value.code == "not_found"


def test_convert_by_hand_keeps_history(rep):
    prospect = make_prospect(rep)
    services.change_prospect_stage(actor=rep, prospect=prospect, stage="qualified")

    prospect = services.convert_prospect(actor=rep, prospect=prospect, reason="签订年度协议")

    prospect.customer.refresh_from_db()
    assert prospect.stage == "won"
    assert prospect.customer.category == "general"
    assert [c.to_stage for c in prospect.stage_changes.all()] == ["new", "qualified", "won"]
    change = GradeChange.objects.get(customer=prospect.customer)
    assert (change.old_category, change.new_category, change.changed_by) == ("potential", "general", rep)
    with pytest.raises(InvalidTransition):
        services.convert_prospect(actor=rep, prospect=prospect, reason="again")


def test_convert_needs_reason(rep):
    prospect = make_prospect(rep)

    with pytest.raises(InvalidInput):
        services.convert_prospect(actor=rep, prospect=prospect, reason=" ")


def test_first_approved_order_wins_prospect(rep, supervisor, stocked_product):
    prospect = make_prospect(rep)
    customer = prospect.customer
    # Test set-up, not the behaviour under test: a credit limit and a verified licence let the review pass.
    Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("100000"))
    Qualification.objects.create(
        customer=customer, kind="medical_institution_licence", number="PDY-1",
        valid_until=local_today() + datetime.timedelta(days=365), verification_status="verified",
    )
    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 2)])
    submit_order(actor=rep, order=order)

    approve_order(actor=supervisor, order=order, reason="首单")

    prospect.refresh_from_db()
    customer.refresh_from_db()
    assert prospect.stage == "won"
    assert prospect.won_order == order
    assert customer.category == "general"
    assert prospect.stage_changes.last().order == order


def test_conversion_rates_per_source_and_rep(rep, rep2, supervisor, manager):
    won = make_prospect(rep, source="exhibition")
    services.convert_prospect(actor=rep, prospect=won, reason="签约")
    make_prospect(rep, name="诊所二", source="exhibition")
    make_prospect(rep2, name="诊所三", source="referral")

    by_source, by_owner = selectors.conversion_rates(manager)

    rows = {row["source"]: row for row in by_source}
    assert (rows["exhibition"]["total"], rows["exhibition"]["won"], rows["exhibition"]["rate"]) == (2, 1, 0.5)
    assert rows["referral"]["rate"] == 0
    owners = {row["customer__owner"]: row for row in by_owner}
    assert owners[rep.pk]["won"] == 1
    assert owners[rep2.pk]["total"] == 1

    rep_source, rep_owner = selectors.conversion_rates(rep)
    assert [row["customer__owner"] for row in rep_owner] == [rep.pk]
    assert sum(row["total"] for row in rep_source) == 2


def test_open_prospect_for_existing_potential_customer(rep):
    potential = f.CustomerFactory(owner=rep, category="potential", grade=None)
    general = f.CustomerFactory(owner=rep)

    prospect = services.open_prospect(actor=rep, customer=potential, source="referral", source_detail="老客户介绍")

    assert (prospect.stage, prospect.source) == ("new", "referral")
    with pytest.raises(InvalidInput):
        services.open_prospect(actor=rep, customer=potential, source="referral")
    with pytest.raises(InvalidInput) as error:
        services.open_prospect(actor=rep, customer=general, source="web")
    assert general.code in str(error.value)
