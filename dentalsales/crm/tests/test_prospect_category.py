"""A category changed by hand on the grade screen keeps the pipeline record in step."""

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.crm import selectors, services
from dentalsales.crm.models import Prospect, ProspectStage
from dentalsales.customers import grading
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def make_prospect(rep):
    prospect = services.create_prospect(actor=rep, source="exhibition", name="杭州朗齿口腔诊所", customer_type="clinic")
    return services.change_prospect_stage(actor=rep, prospect=prospect, stage="contacted")


def test_potential_made_general_by_hand_is_won(rep, supervisor):
    prospect = make_prospect(rep)

    grading.set_grade(actor=supervisor, customer=prospect.customer, category="general", grade="C", reason="已下首单（线下）")

    prospect = Prospect.objects.get(pk=prospect.pk)
    assert prospect.stage == ProspectStage.WON
    assert prospect.won_at is not None
    last = prospect.stage_changes.last()
    assert (last.from_stage, last.to_stage, last.actor) == ("contacted", "won", supervisor)
    assert "已下首单（线下）" in last.reason
    # The earlier history stays, and the conversion report counts it won.
    assert list(prospect.stage_changes.values_list("to_stage", flat=True)) == ["new", "contacted", "won"]
    by_source, _by_owner = selectors.conversion_rates(supervisor)
    assert (by_source[0]["won"], by_source[0]["open"]) == (1, 0)
    # One grade change, the one the supervisor made; the win adds none.
    assert prospect.customer.grade_changes.count() == 1


def test_grade_screen_wins_prospect(rep, supervisor):
    prospect = make_prospect(rep)
    client = Client()
    client.force_login(supervisor)

    response = client.post(
        reverse("customers:grade", args=[prospect.customer.pk]), {"category": "key", "grade": "A", "reason": "签约"}
    )

    assert response.status_code == 302
    assert Prospect.objects.get(pk=prospect.pk).stage == ProspectStage.WON


def test_customer_made_potential_again_gets_new_pipeline_record(rep, supervisor):
    customer = f.CustomerFactory(owner=rep, category="key", grade="A")

    grading.set_grade(actor=supervisor, customer=customer, category="potential", grade="", reason="一年未下单")

    prospect = Prospect.objects.get(customer=customer)
    assert prospect.stage == ProspectStage.NEW
    assert prospect.stage_changes.get().reason == "一年未下单"


def test_won_prospect_made_potential_again_is_reopened(rep, supervisor):
    prospect = make_prospect(rep)
    services.convert_prospect(actor=rep, prospect=prospect, reason="签约")

    grading.set_grade(actor=supervisor, customer=prospect.customer, category="potential", grade="", reason="合同终止")

    prospect = Prospect.objects.get(pk=prospect.pk)
    assert prospect.stage == ProspectStage.CONTACTED
    assert prospect.won_at is None
    assert list(prospect.stage_changes.values_list("to_stage", flat=True)) == ["new", "contacted", "won", "contacted"]


def test_grade_change_between_customer_categories_leaves_pipeline_alone(rep, supervisor):
    prospect = make_prospect(rep)
    services.convert_prospect(actor=rep, prospect=prospect, reason="签约")
    changes = prospect.stage_changes.count()

    grading.set_grade(actor=supervisor, customer=prospect.customer, category="key", grade="A", reason="采购额大")

    assert Prospect.objects.get(pk=prospect.pk).stage == ProspectStage.WON
    assert prospect.stage_changes.count() == changes
