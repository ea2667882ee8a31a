"""Creating and changing customers: ownership, USCC rules, grade and qualifications."""

import datetime

import pytest

from dentalsales.core.errors import DomainError, InvalidInput, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.core.validators import uscc_check_character
from dentalsales.customers.models import Customer, Qualification, QualificationKind
from dentalsales.customers.services import (
    create_customer,
    replace_qualifications,
    update_customer,
)
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

VALID_USCC = "91350100M000100Y43"
# Same body, check character 4 instead of 3.
FAILING_CHECK_USCC = "91350100M000100Y44"



def new_customer(actor, **fields):
    data = {"name": "北京口腔医院", "customer_type": "dental_hospital", "category": "key", "grade": "A"}
    data.update(fields)
    return create_customer(actor=actor, **data)


def next_year():
    return local_today() + datetime.timedelta(days=365)


def counts():
    return Customer.objects.count(), Qualification.objects.count()


class TestCreateOwnership:
    def test_owner_defaults_to_the_actor(self, rep):
        customer = new_customer(rep)

        assert customer.owner == rep

    def test_a_representative_may_name_themselves_as_owner(self, rep):
        customer = new_customer(rep, owner=rep)

        assert customer.owner == rep

    def test_a_representative_cannot_assign_to_another_representative(self, rep, rep2):
        before = counts()

        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, owner=rep2)

        assert "owner" in caught.value.field_errors
        assert counts() == before

    def test_a_representative_cannot_assign_to_their_supervisor(self, rep, supervisor):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, owner=supervisor)

        assert "owner" in caught.value.field_errors
        assert Customer.objects.count() == 0

    def test_a_supervisor_may_assign_to_a_team_member(self, supervisor, rep):
        customer = new_customer(supervisor, owner=rep)

        assert customer.owner == rep

    def test_a_supervisor_cannot_assign_outside_the_team(self, supervisor, rep2):
        with pytest.raises(InvalidInput) as caught:
            new_customer(supervisor, owner=rep2)

        assert "owner" in caught.value.field_errors
        assert Customer.objects.count() == 0

    def test_a_manager_may_assign_to_any_representative(self, manager, rep2):
        customer = new_customer(manager, owner=rep2)

        assert customer.owner == rep2

    @pytest.mark.parametrize("persona", ["logistics", "finance", "quality"])
    def test_non_sales_roles_cannot_create_customers(self, request, persona):
        actor = request.getfixturevalue(persona)

        with pytest.raises(NotPermitted):
            new_customer(actor, owner=f.UserFactory(username="owner", roles=["representative"]))

        assert counts() == (0, 0)


class TestCreateFields:
    def test_code_is_numbered_when_left_blank(self, rep):
        customer = new_customer(rep)

        assert customer.code == f"CU-{local_today():%Y%m%d}-0001"

    def test_a_given_code_is_kept_trimmed(self, rep):
        customer = new_customer(rep, code="  BJ-001 ")

        assert customer.code == "BJ-001"

    def test_a_code_already_used_is_refused_and_names_the_code(self, rep):
        new_customer(rep, code="BJ-001")

        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, code="BJ-001", name="另一家诊所")

        assert "BJ-001" in caught.value.field_errors["code"][0]
        assert Customer.objects.count() == 1

    def test_search_text_holds_name_pinyin_initials_code_and_uscc(self, rep):
        customer = new_customer(rep, code="BJ-001", uscc=VALID_USCC)
        words = customer.search_text.split()

        assert "bjkqyy" in words
        assert "beijingkouqiangyiyuan" in words
        assert "bj-001" in words
        assert VALID_USCC.lower() in words

    def test_a_potential_customer_loses_its_grade(self, rep):
        customer = new_customer(rep, category="potential", grade="A")
        customer.refresh_from_db()

        assert customer.category == "potential"
        assert customer.grade is None

    def test_a_key_customer_keeps_its_grade(self, rep):
        customer = new_customer(rep, category="key", grade="A")
        customer.refresh_from_db()

        assert customer.grade == "A"

    def test_a_blank_grade_of_a_potential_customer_is_stored_as_none(self, rep):
        customer = new_customer(rep, category="potential", grade="")
        customer.refresh_from_db()

        assert customer.grade is None

    @pytest.mark.parametrize("category", ["general", "key"])
    def test_a_general_or_key_customer_needs_a_grade(self, rep, category):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, category=category, grade="")

        assert "grade" in caught.value.field_errors

    @pytest.mark.parametrize(
        "field, value",
        [("customer_type", "pharmacy"), ("category", "vip"), ("grade", "D"), ("credit_limit", "-1"), ("name", "")],
    )
    def test_invalid_values_name_the_field(self, rep, field, value):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, **{field: value})

        assert field in caught.value.field_errors
        assert counts() == (0, 0)

    def test_unknown_fields_are_ignored(self, rep):
        customer = new_customer(rep, search_text="injected", created_at=None)

        assert "injected" not in customer.search_text


class TestUscc:
    def test_a_valid_code_is_stored_normalised(self, rep):
        customer = new_customer(rep, uscc=" 9135 0100m000100y43 ")
        customer.refresh_from_db()

        assert customer.uscc == VALID_USCC

    def test_a_customer_without_a_code_is_accepted(self, rep):
        customer = new_customer(rep, uscc="", uscc_override_reason="not needed")
        customer.refresh_from_db()

        assert customer.uscc == ""
        assert customer.uscc_override_reason == ""

    @pytest.mark.parametrize("value", ["ABC123", "91350100M000100Y4", "91350100M00010OY43", "91350100M000100Y433"])
    def test_a_malformed_code_is_refused_naming_the_value(self, rep, value):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, uscc=value)

        assert list(caught.value.field_errors) == ["uscc"]
        assert f"“{value}”" in caught.value.field_errors["uscc"][0]
        assert counts() == (0, 0)

    def test_full_width_digits_are_a_malformed_code(self, rep):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, uscc="9135０１００M000100Y43")

        assert "uscc" in caught.value.field_errors
        assert Customer.objects.count() == 0

    def test_a_malformed_code_is_refused_even_with_a_reason(self, rep):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, uscc="ABC123", uscc_override_reason="the customer insists")

        assert "uscc" in caught.value.field_errors
        assert Customer.objects.count() == 0

    def test_a_failed_check_character_without_reason_is_refused(self, rep):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, uscc=FAILING_CHECK_USCC)

        message = caught.value.field_errors["uscc"][0]
        assert FAILING_CHECK_USCC in message
        assert "check character" in message
        assert Customer.objects.count() == 0

    def test_a_blank_reason_does_not_count(self, rep):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, uscc=FAILING_CHECK_USCC, uscc_override_reason="   ")

        assert "uscc" in caught.value.field_errors
        assert Customer.objects.count() == 0

    def test_a_failed_check_character_with_a_reason_is_accepted(self, rep):
        customer = new_customer(rep, uscc=FAILING_CHECK_USCC, uscc_override_reason="Pilot code issued in 2015")
        customer.refresh_from_db()

        assert customer.uscc == FAILING_CHECK_USCC
        assert customer.uscc_override_reason == "Pilot code issued in 2015"

    def test_the_reason_is_dropped_when_the_code_is_valid(self, rep):
        customer = new_customer(rep, uscc=VALID_USCC, uscc_override_reason="no longer needed")
        customer.refresh_from_db()

        assert customer.uscc_override_reason == ""

    def test_correcting_the_code_later_drops_the_reason(self, rep):
        customer = new_customer(rep, uscc=FAILING_CHECK_USCC, uscc_override_reason="Pilot code issued in 2015")

        update_customer(actor=rep, customer=customer, uscc=VALID_USCC)
        customer.refresh_from_db()

        assert customer.uscc == VALID_USCC
        assert customer.uscc_override_reason == ""

    def test_every_other_check_character_is_refused_without_reason(self, rep):
        body = VALID_USCC[:17]
        assert uscc_check_character(body) == "3"
        for wrong in "0124":
            with pytest.raises(InvalidInput):
                new_customer(rep, uscc=body + wrong)

        assert Customer.objects.count() == 0


class TestQualifications:
    def test_qualifications_are_saved_with_the_customer(self, rep):
        until = local_today() + datetime.timedelta(days=365)

        customer = new_customer(
            rep,
            qualifications=[
                {"kind": QualificationKind.MEDICAL_INSTITUTION_LICENCE, "number": "PDY00001", "valid_until": until},
                {"kind": QualificationKind.BUSINESS_LICENCE, "number": "YYZZ-01", "valid_until": None},
            ],
        )

        saved = {(q.kind, q.number, q.valid_until) for q in customer.qualifications.all()}
        assert saved == {
            (QualificationKind.MEDICAL_INSTITUTION_LICENCE, "PDY00001", until),
            (QualificationKind.BUSINESS_LICENCE, "YYZZ-01", None),
        }

    def test_invalid_qualification_names_position(self, rep):
        with pytest.raises(InvalidInput) as caught:
            new_customer(
                rep,
                qualifications=[
                    {"kind": QualificationKind.BUSINESS_LICENCE, "number": "YYZZ-01"},
                    {"kind": "driving_licence", "number": "X1"},
                ],
            )

        assert list(caught.value.field_errors) == ["qualifications[1].kind"]
        assert counts() == (0, 0)

    def test_a_qualification_without_number_is_refused(self, rep):
        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, qualifications=[{"kind": QualificationKind.BUSINESS_LICENCE, "number": ""}])

        assert "qualifications[0].number" in caught.value.field_errors
        assert counts() == (0, 0)

    def test_update_replaces_the_qualifications(self, rep, quality):
        customer = new_customer(rep, qualifications=[{"kind": QualificationKind.BUSINESS_LICENCE, "number": "OLD"}])

        replace_qualifications(
            actor=quality,
            customer=customer,
            qualifications=[{"kind": QualificationKind.MEDICAL_INSTITUTION_LICENCE, "number": "NEW"}],
        )

        assert [q.number for q in customer.qualifications.all()] == ["NEW"]

    def test_representative_cannot_change_existing_qualifications(self, rep):
        customer = new_customer(rep, qualifications=[{"kind": QualificationKind.BUSINESS_LICENCE, "number": "OLD"}])

        with pytest.raises(InvalidInput) as caught:
            update_customer(
                actor=rep,
                customer=customer,
                qualifications=[{"kind": QualificationKind.BUSINESS_LICENCE, "number": "OLD", "valid_until": next_year()}],
            )
        with pytest.raises(NotPermitted):
            replace_qualifications(actor=rep, customer=customer, qualifications=[])

        assert "qualifications" in caught.value.field_errors
        assert [(q.number, q.valid_until) for q in customer.qualifications.all()] == [("OLD", None)]

    def test_update_without_qualifications_keeps_them(self, rep):
        customer = new_customer(rep, qualifications=[{"kind": QualificationKind.BUSINESS_LICENCE, "number": "KEEP"}])

        update_customer(actor=rep, customer=customer, name="北京口腔医院（总院）")

        assert [q.number for q in customer.qualifications.all()] == ["KEEP"]


class TestUpdate:
    def test_fields_are_changed(self, rep, supervisor):
        customer = new_customer(rep)

        update_customer(actor=rep, customer=customer, min_shelf_life_days=365)
        update_customer(actor=supervisor, customer=customer, credit_limit="5000.00")
        customer.refresh_from_db()

        assert str(customer.credit_limit) == "5000.00"
        assert customer.min_shelf_life_days == 365

    def test_representative_cannot_change_credit_terms(self, rep):
        customer = new_customer(rep)

        for field, value in (("credit_limit", "9999999.00"), ("payment_terms_days", 120)):
            with pytest.raises(InvalidInput) as caught:
                update_customer(actor=rep, customer=customer, **{field: value})
            assert field in caught.value.field_errors

        customer.refresh_from_db()
        assert str(customer.credit_limit) == "0.00"
        assert customer.payment_terms_days == 30

    def test_representative_may_resend_unchanged_credit_terms(self, rep):
        customer = new_customer(rep)

        update_customer(actor=rep, customer=customer, credit_limit="0.00", payment_terms_days="30", name="新名字")
        customer.refresh_from_db()

        assert customer.name == "新名字"

    def test_finance_changes_only_credit_terms(self, rep, finance):
        customer = new_customer(rep)

        update_customer(actor=finance, customer=customer, credit_limit="20000.00", payment_terms_days=60)
        with pytest.raises(NotPermitted):
            update_customer(actor=finance, customer=customer, name="改名")

        customer.refresh_from_db()
        assert str(customer.credit_limit) == "20000.00"
        assert customer.payment_terms_days == 60
        assert customer.name != "改名"

    def test_uscc_of_another_customer_is_refused(self, rep):
        first = new_customer(rep, uscc=f.valid_uscc(901))

        with pytest.raises(InvalidInput) as caught:
            new_customer(rep, uscc=first.uscc, name="另一家诊所")

        assert first.uscc in str(caught.value)
        assert first.code in str(caught.value)

    def test_a_representative_cannot_reassign_a_customer(self, rep, supervisor):
        customer = new_customer(rep)

        with pytest.raises(NotPermitted):
            update_customer(actor=rep, customer=customer, owner=supervisor)

        customer.refresh_from_db()
        assert customer.owner == rep

    def test_a_supervisor_may_reassign_within_the_team(self, supervisor, rep):
        customer = new_customer(supervisor)

        update_customer(actor=supervisor, customer=customer, owner=rep)
        customer.refresh_from_db()

        assert customer.owner == rep

    def test_a_supervisor_cannot_reassign_outside_the_team(self, supervisor, rep, rep2):
        customer = new_customer(supervisor, owner=rep)

        with pytest.raises(InvalidInput) as caught:
            update_customer(actor=supervisor, customer=customer, owner=rep2)

        assert "owner" in caught.value.field_errors
        customer.refresh_from_db()
        assert customer.owner == rep

    def test_logistics_cannot_change_a_customer(self, rep, logistics):
        customer = new_customer(rep)

        with pytest.raises(NotPermitted):
            update_customer(actor=logistics, customer=customer, name="改名")

        customer.refresh_from_db()
        assert customer.name == "北京口腔医院"

    def test_a_refused_update_changes_nothing(self, rep):
        customer = new_customer(rep, uscc=VALID_USCC)

        with pytest.raises(InvalidInput):
            update_customer(actor=rep, customer=customer, name="改名", uscc="ABC123")

        customer.refresh_from_db()
        assert customer.name == "北京口腔医院"
        assert customer.uscc == VALID_USCC

    def test_making_a_customer_potential_drops_its_grade(self, rep, supervisor):
        customer = new_customer(rep, category="key", grade="A")

        update_customer(actor=supervisor, customer=customer, category="potential", grade_reason="停止采购")
        customer.refresh_from_db()

        assert customer.grade is None

    def test_a_representative_cannot_change_another_representatives_customer(self, rep, rep2):
        customer = new_customer(rep)

        with pytest.raises(DomainError):
            update_customer(actor=rep2, customer=customer, name="改名")

        customer.refresh_from_db()
        assert customer.name == "北京口腔医院"
