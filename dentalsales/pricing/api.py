"""The pricing API: a product's price for a customer, price lists, locked prices, payment-term discounts, discount authority.

Sales staff read; managers and administrators write, through the same
services as the screens. Prices are strings with 4 decimals
(``"123.4500"``), rates and shares too (``"0.0200"``).
"""

import datetime

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dentalsales.catalog.models import Category, Product
from dentalsales.core.api_fields import PassThroughDecimalField, PassThroughIntegerField
from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today
from dentalsales.customers.selectors import visible_customers

from . import selectors, services
from .models import (
    AuthorityRole,
    DiscountAuthority,
    LockedPrice,
    LockedPriceSource,
    PaymentTermDiscount,
    PriceList,
    PriceListItem,
    PriceListKind,
    VolumeTier,
)
from .resolver import PriceSource, parse_quantity, resolve_price


def fixed(value):
    """Show a price, rate or share as a string with its 4 decimals; None stays None."""
    return None if value is None else f"{value:.4f}"


class PricePermission(BasePermission):
    """Sales staff may read prices; only managers and administrators may change them."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            self.message = gettext_lazy("Your role does not see prices.")
            return selectors.can_view_prices(request.user)
        self.message = gettext_lazy("Only a sales manager or an administrator can maintain prices.")
        return selectors.can_maintain_prices(request.user)


# -- the price of a product -------------------------------------------------------------


class PriceSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    customer = serializers.IntegerField()
    quantity = serializers.IntegerField()
    on_date = serializers.DateField()
    unit_price = serializers.CharField(help_text="Tax-inclusive, 4 decimals.")
    list_price = serializers.CharField(help_text="Tax-inclusive, 4 decimals.")
    source = serializers.ChoiceField(choices=PriceSource.choices)
    reasons = serializers.ListField(child=serializers.CharField())


def _query_id(value, field):
    text = (value or "").strip()
    if not text:
        raise InvalidInput(_("Give the %(field)s as a query parameter.") % {"field": field}, field=field)
    if not (text.isdecimal() and text.isascii() and int(text) < 2**63):
        raise InvalidInput(_("“%(value)s” is not a record number.") % {"value": value}, field=field)
    return int(text)


def _query_date(value):
    if value in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            _("“%(value)s” is not a date; use the form YYYY-MM-DD.") % {"value": value}, field="date"
        ) from None


class ProductPriceView(APIView):
    """The unit price ``customer`` pays for ``quantity`` units of the product, with the reasons, as every document prices it.

    ``quantity`` is the document's total of the product over all its lines.
    A customer the user does not see answers 404.
    """

    permission_classes = [IsAuthenticated, PricePermission]

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", OpenApiTypes.INT, required=True, description="Customer id."),
            OpenApiParameter("quantity", OpenApiTypes.INT, required=False, description="Whole number from 1; default 1."),
            OpenApiParameter("date", OpenApiTypes.DATE, required=False, description="Business date; default today."),
        ],
        responses=PriceSerializer,
    )
    def get(self, request, pk):
        product = get_object_or_404(Product, pk=pk)
        customer_id = _query_id(request.query_params.get("customer"), "customer")
        on_date = _query_date(request.query_params.get("date"))
        quantity = parse_quantity(request.query_params.get("quantity", "1"))
        customer = visible_customers(request.user).filter(pk=customer_id).first()
        if customer is None:
            raise NotFound(_("Customer not found."))

        resolution = resolve_price(customer=customer, product=product, quantity=quantity, on_date=on_date)
        return Response(
            {
                "product": product.pk,
                "customer": customer.pk,
                "quantity": quantity,
                "on_date": (on_date or local_today()).isoformat(),
                "unit_price": fixed(resolution.unit_price),
                "list_price": fixed(resolution.list_price),
                "source": str(resolution.source),
                "reasons": [str(reason) for reason in resolution.reasons],
            }
        )


# -- price lists -------------------------------------------------------------------------


class VolumeTierSerializer(serializers.ModelSerializer):
    min_quantity = PassThroughIntegerField(help_text="Inclusive lower bound, 2 or more: 100 means 100 units and more.")
    unit_price = PassThroughDecimalField(help_text="Tax-inclusive, at most 4 decimals.")

    class Meta:
        model = VolumeTier
        fields = ["min_quantity", "unit_price"]

    def to_representation(self, tier):
        return {"min_quantity": tier.min_quantity, "unit_price": fixed(tier.unit_price)}


class PriceListItemSerializer(serializers.ModelSerializer):
    product = PassThroughIntegerField(help_text="Product id.")
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    unit_price = PassThroughDecimalField(help_text="Tax-inclusive price from 1 unit, at most 4 decimals.")
    tiers = VolumeTierSerializer(many=True, required=False)

    class Meta:
        model = PriceListItem
        fields = ["product", "product_sku", "product_name", "unit_price", "tiers"]

    def to_representation(self, item):
        data = super().to_representation(item)
        data["product"] = item.product_id
        data["unit_price"] = fixed(item.unit_price)
        return data


class PriceListSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(help_text="One of: " + ", ".join(PriceListKind.values))
    grade = serializers.CharField(required=False, allow_blank=True, default="", help_text="A, B or C for a list by grade.")
    customer = PassThroughIntegerField(required=False, allow_null=True, help_text="Customer id for a list for one customer.")
    customer_name = serializers.CharField(source="customer.name", read_only=True, default="")
    priority = PassThroughIntegerField(required=False, help_text="Higher wins among lists of the same kind.")
    valid_until = serializers.DateField(required=False, allow_null=True)
    items = PriceListItemSerializer(many=True, required=False)

    class Meta:
        model = PriceList
        fields = [
            "id", "name", "kind", "grade", "customer", "customer_name", "valid_from", "valid_until", "priority",
            "is_active", "note", "items", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, price_list):
        data = super().to_representation(price_list)
        data["customer"] = price_list.customer_id
        return data

    def _split(self, validated_data):
        items = validated_data.pop("items", None)
        if items is not None:
            items = [{**item, "tiers": [dict(tier) for tier in item.get("tiers", [])]} for item in items]
        header = {name: value for name, value in validated_data.items() if name in services.PRICE_LIST_FIELDS}
        return header, items

    def create(self, validated_data):
        header, items = self._split(validated_data)
        return services.create_price_list(actor=self.context["request"].user, items=items or [], **header)

    def update(self, price_list, validated_data):
        header, items = self._split(validated_data)
        return services.update_price_list(actor=self.context["request"].user, price_list=price_list, items=items, **header)


class _RefetchMixin:
    """Answer a write with the row read back through the viewset's queryset, related rows and all."""

    def _respond(self, instance, status_code=status.HTTP_200_OK):
        instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save(), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save())


class PriceListViewSet(_RefetchMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Price lists by customer grade or for one customer, with items and volume tiers.

    Sending ``items`` replaces all items of the list. ``POST .../deactivate/``
    stops a list from applying.
    """

    serializer_class = PriceListSerializer
    permission_classes = [IsAuthenticated, PricePermission]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["kind", "grade", "customer", "is_active"]
    ordering_fields = ["name", "valid_from", "priority"]

    def get_queryset(self):
        queryset = selectors.visible_price_lists(self.request.user).order_by("kind", "grade", "-priority", "-valid_from", "-id")
        return selectors.price_lists_with_items(queryset)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._respond(services.deactivate_price_list(actor=request.user, price_list=self.get_object()))


# -- locked prices --------------------------------------------------------------------------


class LockedPriceSerializer(serializers.ModelSerializer):
    customer = PassThroughIntegerField(help_text="Customer id.")
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    product = PassThroughIntegerField(help_text="Product id.")
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    unit_price = PassThroughDecimalField(help_text="Tax-inclusive, at most 4 decimals.")
    source = serializers.CharField(help_text="One of: " + ", ".join(LockedPriceSource.values))

    class Meta:
        model = LockedPrice
        fields = [
            "id", "customer", "customer_name", "product", "product_sku", "unit_price", "valid_from", "valid_until",
            "source", "source_reference", "is_active", "note", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, locked):
        data = super().to_representation(locked)
        data["customer"] = locked.customer_id
        data["product"] = locked.product_id
        data["unit_price"] = fixed(locked.unit_price)
        return data

    def create(self, validated_data):
        return services.create_locked_price(actor=self.context["request"].user, **validated_data)

    def update(self, locked, validated_data):
        return services.update_locked_price(actor=self.context["request"].user, locked_price=locked, **validated_data)


class LockedPriceViewSet(_RefetchMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Prices locked for one customer and product by a tender, volume-based procurement or contract."""

    serializer_class = LockedPriceSerializer
    permission_classes = [IsAuthenticated, PricePermission]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["customer", "product", "source", "is_active"]
    ordering_fields = ["valid_from", "valid_until"]

    def get_queryset(self):
        return selectors.visible_locked_prices(self.request.user).select_related("customer", "product").order_by(
            "customer__code", "product__sku", "-valid_from", "-id"
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._respond(services.deactivate_locked_price(actor=request.user, locked_price=self.get_object()))


# -- payment-term discounts --------------------------------------------------------------------


class PaymentTermDiscountSerializer(serializers.ModelSerializer):
    max_payment_terms_days = PassThroughIntegerField(help_text="Customers with payment terms of this many days or fewer.")
    discount_rate = PassThroughDecimalField(help_text="Between 0 and 1: 0.02 for 2 percent.")

    class Meta:
        model = PaymentTermDiscount
        fields = ["id", "max_payment_terms_days", "discount_rate", "is_active", "note"]

    def to_representation(self, discount):
        data = super().to_representation(discount)
        data["discount_rate"] = fixed(discount.discount_rate)
        return data

    def create(self, validated_data):
        return services.create_payment_term_discount(actor=self.context["request"].user, **validated_data)

    def update(self, discount, validated_data):
        return services.update_payment_term_discount(actor=self.context["request"].user, discount=discount, **validated_data)


class PaymentTermDiscountViewSet(_RefetchMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Discounts for short payment terms; the largest that applies to a customer is given once."""

    serializer_class = PaymentTermDiscountSerializer
    permission_classes = [IsAuthenticated, PricePermission]
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["is_active"]

    def get_queryset(self):
        return selectors.payment_term_discounts(self.request.user)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._respond(services.deactivate_payment_term_discount(actor=request.user, discount=self.get_object()))


# -- discount authority -------------------------------------------------------------------------


class DiscountAuthoritySerializer(serializers.ModelSerializer):
    role = serializers.CharField(help_text="One of: " + ", ".join(AuthorityRole.values))
    category = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.all(), required=False, allow_null=True,
        help_text="Category code; null for the general row.",
    )
    category_name = serializers.CharField(source="category.name", read_only=True, default="")
    min_share_of_list = PassThroughDecimalField(help_text="Above 0 and up to 1: 0.90 for 90 percent of list price.")

    class Meta:
        model = DiscountAuthority
        fields = ["id", "role", "category", "category_name", "min_share_of_list"]
        # The service rejects a second row for a role and category, naming them.
        validators = []

    def to_representation(self, authority):
        data = super().to_representation(authority)
        data["min_share_of_list"] = fixed(authority.min_share_of_list)
        return data

    def create(self, validated_data):
        return services.create_discount_authority(
            actor=self.context["request"].user,
            role=validated_data["role"],
            category=validated_data.get("category"),
            min_share_of_list=validated_data["min_share_of_list"],
        )

    def update(self, authority, validated_data):
        # Role and category name the row; only its share changes.
        return services.update_discount_authority(
            actor=self.context["request"].user,
            authority=authority,
            min_share_of_list=validated_data.get("min_share_of_list", authority.min_share_of_list),
        )


class DiscountAuthorityViewSet(
    _RefetchMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Each role's lowest price as a share of list price, in general or per category.

    Deleting a category's row lets it inherit again; deleting a general row
    brings back the built-in default.
    """

    serializer_class = DiscountAuthoritySerializer
    permission_classes = [IsAuthenticated, PricePermission]
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["role", "category"]

    def get_queryset(self):
        return selectors.discount_authorities(self.request.user)

    def perform_destroy(self, authority):
        services.remove_discount_authority(actor=self.request.user, authority=authority)
