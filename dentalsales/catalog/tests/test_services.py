"""The product master: registration numbers must fit the device class."""

import datetime
from decimal import Decimal

import pytest

from dentalsales.catalog.models import Product
from dentalsales.catalog.services import create_product, update_product
from dentalsales.core.errors import InvalidInput, NotPermitted
from dentalsales.core.timeutils import local_today

pytestmark = pytest.mark.django_db



def next_year():
    return local_today() + datetime.timedelta(days=365)


def product_fields(**changes):
    fields = {
        "sku": "RES-A2",
        "name": "光固化复合树脂",
        "manufacturer": "Demo Dental Co.",
        "specification": "A2 4g/支",
        "unit": "支",
        "device_class": "II",
        "registration_number": "粤械注准20172170123",
        "registration_valid_until": next_year(),
        "list_price": Decimal("130.0000"),
    }
    fields.update(changes)
    return fields


class TestCreate:
    def test_quality_officer_creates_a_class_ii_product(self, quality):
        product = create_product(actor=quality, **product_fields())
        product.refresh_from_db()

        assert product.sku == "RES-A2"
        assert product.registration_number == "粤械注准20172170123"
        assert product.vat_rate == Decimal("0.13")

    def test_search_text_holds_the_pinyin_of_the_name(self, quality):
        product = create_product(actor=quality, **product_fields())
        words = product.search_text.split()

        assert "gghfhsz" in words
        assert "guangguhuafuheshuzhi" in words
        assert "res-a2" in words

    @pytest.mark.parametrize(
        "device_class, number, valid_until",
        [
            ("I", "京械备20150012号", None),
            ("I", "京朝械备20150012号", None),
            ("II", "粤械注准20172170123", next_year),
            ("III", "国械注准20173170123", next_year),
            ("III", "国械注进20163171234", next_year),
            ("III", "国械注许20183170001", next_year),
            ("III", "国食药监械(准)字2012第3630001号", next_year),
        ],
    )
    def test_each_class_accepts_its_kind_of_number(self, manager, device_class, number, valid_until):
        product = create_product(
            actor=manager,
            **product_fields(
                device_class=device_class,
                registration_number=number,
                registration_valid_until=valid_until() if valid_until else None,
            ),
        )

        assert Product.objects.filter(pk=product.pk, registration_number=number).exists()

    def test_surrounding_spaces_are_removed_from_the_number(self, quality):
        product = create_product(actor=quality, **product_fields(registration_number="  粤械注准20172170123 "))

        assert product.registration_number == "粤械注准20172170123"

    @pytest.mark.parametrize("device_class", ["II", "III"])
    def test_a_record_number_on_class_ii_or_iii_is_refused(self, quality, device_class):
        with pytest.raises(InvalidInput) as caught:
            create_product(actor=quality, **product_fields(device_class=device_class, registration_number="京械备20150012号"))

        assert list(caught.value.field_errors) == ["registration_number"]
        assert "京械备20150012号" in caught.value.field_errors["registration_number"][0]
        assert Product.objects.count() == 0

    def test_a_certificate_on_class_i_is_refused(self, quality):
        with pytest.raises(InvalidInput) as caught:
            create_product(actor=quality, **product_fields(device_class="I"))

        assert "粤械注准20172170123" in caught.value.field_errors["registration_number"][0]
        assert Product.objects.count() == 0

    @pytest.mark.parametrize(
        "device_class, number",
        [("II", "国械注准20173170123"), ("III", "粤械注准20172170123"), ("II", "国械注进20163171234")],
    )
    def test_certificate_class_digit_must_match(self, quality, device_class, number):
        with pytest.raises(InvalidInput) as caught:
            create_product(actor=quality, **product_fields(device_class=device_class, registration_number=number))

        message = caught.value.field_errors["registration_number"][0]
        assert number in message
        assert f"class {device_class}." in message
        assert Product.objects.count() == 0

    def test_legacy_class_digit_must_match(self, quality):
        with pytest.raises(InvalidInput):
            create_product(
                actor=quality, **product_fields(device_class="II", registration_number="国食药监械(准)字2012第3630001号")
            )

        assert Product.objects.count() == 0

    @pytest.mark.parametrize(
        "device_class, number",
        [("II", "粤械注准20172170123"), ("III", "国械注准20173170123"), ("III", "国食药监械(准)字2012第3630001号")],
    )
    def test_a_certificate_without_valid_until_is_refused(self, quality, device_class, number):
        with pytest.raises(InvalidInput) as caught:
            create_product(
                actor=quality,
                **product_fields(device_class=device_class, registration_number=number, registration_valid_until=None),
            )

        assert list(caught.value.field_errors) == ["registration_valid_until"]
        assert Product.objects.count() == 0

    @pytest.mark.parametrize("number", ["ABC-123", "国械注准2017317012", "粤械注准2017217012X", "京械备20150012"])
    def test_a_malformed_number_is_refused_naming_the_value(self, quality, number):
        with pytest.raises(InvalidInput) as caught:
            create_product(actor=quality, **product_fields(registration_number=number))

        assert f"“{number}”" in caught.value.field_errors["registration_number"][0]
        assert Product.objects.count() == 0

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "logistics", "finance"])
    def test_other_roles_cannot_create_products(self, request, persona):
        actor = request.getfixturevalue(persona)

        with pytest.raises(NotPermitted):
            create_product(actor=actor, **product_fields())

        assert Product.objects.count() == 0

    def test_a_duplicate_sku_is_refused(self, quality):
        create_product(actor=quality, **product_fields())

        with pytest.raises(InvalidInput) as caught:
            create_product(actor=quality, **product_fields(name="另一种树脂"))

        assert "sku" in caught.value.field_errors
        assert Product.objects.count() == 1

    @pytest.mark.parametrize(
        "field, value",
        [
            ("list_price", Decimal("-0.01")),
            ("standard_cost", Decimal("-1")),
            ("vat_rate", Decimal("1.00")),
            ("vat_rate", Decimal("-0.01")),
            ("unit", ""),
        ],
    )
    def test_invalid_values_are_refused_with_the_field(self, quality, field, value):
        with pytest.raises(InvalidInput) as caught:
            create_product(actor=quality, **product_fields(**{field: value}))

        assert field in caught.value.field_errors
        assert Product.objects.count() == 0


    def test_an_unknown_device_class_is_refused(self, quality):
        with pytest.raises(InvalidInput):
            create_product(actor=quality, **product_fields(device_class="IV", registration_number="京械备20150012号"))

        assert Product.objects.count() == 0


class TestUpdate:
    @pytest.fixture
    def product(self, quality):
        return create_product(actor=quality, **product_fields())

    def test_quality_officer_renews_the_registration(self, quality, product):
        renewed_until = local_today() + datetime.timedelta(days=5 * 365)

        update_product(actor=quality, product=product, registration_valid_until=renewed_until)
        product.refresh_from_db()

        assert product.registration_valid_until == renewed_until

    def test_changing_the_class_without_the_number_is_refused(self, quality, product):
        with pytest.raises(InvalidInput) as caught:
            update_product(actor=quality, product=product, device_class="III")

        assert "registration_number" in caught.value.field_errors
        product.refresh_from_db()
        assert product.device_class == "II"

    def test_removing_the_expiry_of_a_certificate_is_refused(self, quality, product):
        with pytest.raises(InvalidInput):
            update_product(actor=quality, product=product, registration_valid_until=None)

        product.refresh_from_db()
        assert product.registration_valid_until is not None

    def test_a_representative_cannot_change_a_product(self, rep, product):
        with pytest.raises(NotPermitted):
            update_product(actor=rep, product=product, list_price=Decimal("1.00"))

        product.refresh_from_db()
        assert product.list_price == Decimal("130.0000")

    def test_search_text_follows_a_renamed_product(self, quality, product):
        update_product(actor=quality, product=product, name="藻酸盐印模材料")
        product.refresh_from_db()

        assert "zsyymcl" in product.search_text.split()
        assert "gghfhsz" not in product.search_text.split()
