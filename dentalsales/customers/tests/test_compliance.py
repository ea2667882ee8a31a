"""Which qualifications a customer must hold to buy products of each device class."""

import datetime

import pytest

from dentalsales.core.timeutils import local_today
from dentalsales.customers.compliance import qualification_problems
from dentalsales.customers.models import CustomerType, QualificationKind
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

K = QualificationKind



def days(n):
    return local_today() + datetime.timedelta(days=n)


def customer_holding(customer_type, *held):
    """A customer of ``customer_type`` holding ``held`` (kind, valid_until) qualifications."""
    return f.CustomerFactory(customer_type=customer_type, qualifications=list(held))


class TestMedicalInstitutions:
    @pytest.mark.parametrize("customer_type", [CustomerType.CLINIC, CustomerType.DENTAL_HOSPITAL, CustomerType.HOSPITAL_DEPARTMENT])
    @pytest.mark.parametrize("classes", [set(), {"I"}, {"II"}, {"III"}, {"I", "II", "III"}])
    def test_a_valid_practice_licence_is_enough(self, customer_type, classes):
        customer = customer_holding(customer_type, (K.MEDICAL_INSTITUTION_LICENCE, days(30)))

        assert qualification_problems(customer, classes) == []

    def test_a_licence_without_end_date_is_valid(self):
        customer = customer_holding(CustomerType.CLINIC, (K.MEDICAL_INSTITUTION_LICENCE, None))

        assert qualification_problems(customer, {"III"}) == []

    def test_a_licence_expiring_today_is_still_valid(self):
        customer = customer_holding(CustomerType.CLINIC, (K.MEDICAL_INSTITUTION_LICENCE, days(0)))

        assert qualification_problems(customer, {"III"}) == []

    def test_an_expired_licence_is_reported_with_number_and_date(self):
        expired_on = days(-1)
        customer = customer_holding(CustomerType.CLINIC, (K.MEDICAL_INSTITUTION_LICENCE, expired_on))
        number = customer.qualifications.get().number

        problems = qualification_problems(customer, {"II"})

        assert len(problems) == 1
        assert number in problems[0]
        assert str(expired_on) in problems[0]
        assert "expired" in problems[0]

    def test_a_missing_licence_is_reported(self):
        customer = customer_holding(CustomerType.CLINIC)

        problems = qualification_problems(customer, {"II"})

        assert problems == ["No valid Medical institution practice licence on file."]

    def test_a_business_licence_does_not_replace_the_practice_licence(self):
        customer = customer_holding(
            CustomerType.DENTAL_HOSPITAL, (K.BUSINESS_LICENCE, None), (K.DEVICE_BUSINESS_LICENCE, days(30))
        )

        assert len(qualification_problems(customer, {"II"})) == 1

    def test_a_renewed_licence_covers_an_expired_one(self):
        customer = customer_holding(
            CustomerType.CLINIC, (K.MEDICAL_INSTITUTION_LICENCE, days(-10)), (K.MEDICAL_INSTITUTION_LICENCE, days(300))
        )

        assert qualification_problems(customer, {"III"}) == []

    def test_the_day_can_be_given(self):
        customer = customer_holding(CustomerType.CLINIC, (K.MEDICAL_INSTITUTION_LICENCE, days(10)))

        assert qualification_problems(customer, {"II"}, day=days(10)) == []
        assert len(qualification_problems(customer, {"II"}, day=days(11))) == 1

    def test_qualifications_already_fetched_are_used(self):
        customer = customer_holding(CustomerType.CLINIC)
        licence = f.CustomerFactory(qualifications=[(K.MEDICAL_INSTITUTION_LICENCE, days(30))]).qualifications.get()

        assert qualification_problems(customer, {"II"}, qualifications=[licence]) == []


@pytest.mark.parametrize("customer_type", [CustomerType.DISTRIBUTOR, CustomerType.RETAILER])
class TestTraders:
    def test_class_i_needs_only_the_business_licence(self, customer_type):
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, None))

        assert qualification_problems(customer, {"I"}) == []

    def test_without_business_licence_every_class_is_refused(self, customer_type):
        customer = customer_holding(customer_type, (K.DEVICE_BUSINESS_LICENCE, days(30)))

        problems = qualification_problems(customer, {"I"})

        assert problems == ["No valid Business licence on file."]

    def test_class_iii_needs_both_licences(self, customer_type):
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, None), (K.DEVICE_BUSINESS_LICENCE, days(30)))

        assert qualification_problems(customer, {"III"}) == []

    def test_class_iii_is_refused_with_only_a_business_record(self, customer_type):
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, None), (K.DEVICE_BUSINESS_RECORD, None))

        problems = qualification_problems(customer, {"III"})

        assert problems == ["No valid Medical device business licence on file."]

    def test_class_iii_is_refused_with_an_expired_device_licence(self, customer_type):
        expired_on = days(-1)
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, None), (K.DEVICE_BUSINESS_LICENCE, expired_on))
        number = customer.qualifications.get(kind=K.DEVICE_BUSINESS_LICENCE).number

        problems = qualification_problems(customer, {"III"})

        assert len(problems) == 1
        assert number in problems[0]
        assert str(expired_on) in problems[0]

    def test_class_iii_with_other_classes_still_needs_the_licence(self, customer_type):
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, None), (K.DEVICE_BUSINESS_RECORD, None))

        assert len(qualification_problems(customer, {"I", "II", "III"})) == 1

    @pytest.mark.parametrize("kind", [K.DEVICE_BUSINESS_LICENCE, K.DEVICE_BUSINESS_RECORD])
    def test_class_ii_accepts_a_licence_or_a_record(self, customer_type, kind):
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, None), (kind, days(30)))

        assert qualification_problems(customer, {"II"}) == []

    def test_class_ii_is_refused_with_neither(self, customer_type):
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, None))

        problems = qualification_problems(customer, {"II"})

        assert problems == ["No valid medical device business licence or record on file."]

    def test_class_ii_is_refused_with_an_expired_record_only(self, customer_type):
        expired_on = days(-30)
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, None), (K.DEVICE_BUSINESS_RECORD, expired_on))

        problems = qualification_problems(customer, {"II"})

        assert len(problems) == 1
        assert str(expired_on) in problems[0]

    def test_both_trader_problems_reported(self, customer_type):
        customer = customer_holding(customer_type, (K.BUSINESS_LICENCE, days(-1)))

        problems = qualification_problems(customer, {"III"})

        assert len(problems) == 2
        assert "expired" in problems[0]
        assert problems[1] == "No valid Medical device business licence on file."

    def test_a_practice_licence_does_not_make_a_trader_compliant(self, customer_type):
        customer = customer_holding(customer_type, (K.MEDICAL_INSTITUTION_LICENCE, days(30)))

        assert len(qualification_problems(customer, {"I"})) == 1
