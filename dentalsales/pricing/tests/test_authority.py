"""Discount authority: who must approve a price, at every boundary, in general and per category."""

from decimal import Decimal

import pytest

from dentalsales.accounts.roles import Role
from dentalsales.catalog.models import Category
from dentalsales.pricing.resolver import (
    approval_level,
    authority_share,
    lowest_price_within_authority,
)
from dentalsales.testing import factories as f

from .factories import DiscountAuthorityFactory

pytestmark = pytest.mark.django_db

REPRESENTATIVE = frozenset({Role.REPRESENTATIVE})
SUPERVISOR = frozenset({Role.SUPERVISOR})
MANAGER = frozenset({Role.MANAGER})


@pytest.fixture
def authorities(db):
    DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.90"))
    DiscountAuthorityFactory(role="supervisor", min_share_of_list=Decimal("0.80"))
    DiscountAuthorityFactory(role="manager", min_share_of_list=Decimal("0.70"))


def level(product, unit_price, roles=REPRESENTATIVE, **kwargs):
    return approval_level(
        unit_price=Decimal(unit_price), list_price=product.list_price, product=product, owner_roles=roles, **kwargs
    )


# List price 130.00: the representative goes down to 117.00, the supervisor to 104.00, the manager to 91.00.
@pytest.mark.parametrize(
    ("unit_price", "expected"),
    [
        ("130.00", None),
        ("140.00", None),
        ("117.00", None),
        ("116.99", "supervisor"),
        ("116.9999", "supervisor"),
        ("104.00", "supervisor"),
        ("103.99", "manager"),
        ("91.00", "manager"),
        ("90.99", "manager"),
        ("0.01", "manager"),
    ],
)
def test_representative_line_at_each_boundary(authorities, product, unit_price, expected):
    assert level(product, unit_price) == expected


@pytest.mark.parametrize(
    ("unit_price", "expected"), [("116.99", None), ("104.00", None), ("103.99", "manager"), ("90.00", "manager")]
)
def test_supervisor_line_needs_only_the_manager(authorities, product, unit_price, expected):
    assert level(product, unit_price, SUPERVISOR) == expected


@pytest.mark.parametrize(("unit_price", "expected"), [("103.99", None), ("91.00", None), ("90.99", "manager")])
def test_manager_line_below_the_manager_authority_needs_another_manager(authorities, product, unit_price, expected):
    assert level(product, unit_price, MANAGER) == expected


def test_built_in_defaults_apply_without_rows(product):
    assert level(product, "117.00") is None
    assert level(product, "116.99") == "supervisor"
    assert level(product, "103.99") == "manager"


def test_general_rows_override_the_defaults(product):
    DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.95"))

    assert level(product, "123.50") is None
    assert level(product, "123.49") == "supervisor"


def test_category_row_wins_over_the_general_row(authorities):
    composites = Category.objects.create(code="EBF", name="复合树脂")
    files = Category.objects.create(code="EKS", name="根管锉")
    composite = f.ProductFactory(category=composites)
    endo_file = f.ProductFactory(category=files)
    DiscountAuthorityFactory(role="representative", category=composites, min_share_of_list=Decimal("0.85"))

    assert level(composite, "110.50") is None
    assert level(composite, "110.49") == "supervisor"
    assert level(endo_file, "110.50") == "supervisor"


def test_subcategory_inherits_the_parent_category_row(authorities):
    materials = Category.objects.create(code="G-MAT", name="修复材料")
    composites = Category.objects.create(code="EBF", name="复合树脂", parent=materials)
    DiscountAuthorityFactory(role="representative", category=materials, min_share_of_list=Decimal("0.85"))
    product = f.ProductFactory(category=composites)

    assert authority_share("representative", composites) == Decimal("0.85")
    assert level(product, "110.50") is None


def test_product_without_category_uses_the_general_row(authorities):
    DiscountAuthorityFactory(role="representative", category=f.CategoryFactory(), min_share_of_list=Decimal("0.50"))
    product = f.ProductFactory(category=None)

    assert authority_share("representative", None) == Decimal("0.90")
    assert level(product, "116.99") == "supervisor"


def test_price_at_or_above_the_resolved_price_needs_no_approval(authorities, product):
    assert level(product, "100.00", resolved_price=Decimal("100.00")) is None
    assert level(product, "99.99", resolved_price=Decimal("100.00")) == "manager"


def test_free_list_price_needs_no_approval(authorities):
    product = f.ProductFactory(list_price=Decimal("0"))

    assert level(product, "0") is None


def test_lowest_price_within_authority_rounds_up(product):
    DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.8333"))
    odd = f.ProductFactory(list_price=Decimal("99.99"))

    # 99.99 × 0.8333 = 83.321667: 83.3216 would be below the authority, so the floor is 83.3217.
    assert lowest_price_within_authority("representative", odd) == Decimal("83.3217")
    assert level(odd, "83.3217") is None
    assert level(odd, "83.3216") == "supervisor"
