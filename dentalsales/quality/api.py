"""The recall API: entry of a draft, the open and close actions, and per-customer follow-up as POST sub-paths."""

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from dentalsales.core.api_fields import PassThroughField, PassThroughIntegerField
from dentalsales.core.errors import InvalidInput
from dentalsales.inventory.models import Lot

from . import services
from .models import Recall, RecallCustomer, RecallLevel, RecallReleasedReservation, RecallStatus
from .selectors import can_view_recalls, recall_list


@extend_schema_field({"type": "array", "items": {"type": "integer"}})
class LotIdsField(PassThroughField):
    """Lot ids, checked by the service so that its error names the value."""


@extend_schema_field(OpenApiTypes.STR)
class PassThroughTextField(PassThroughField):
    pass


class RecallFilter(django_filters.FilterSet):
    """Filters of the recall list; an invalid value returns 400 naming it, rather than being ignored."""

    status = django_filters.ChoiceFilter(choices=RecallStatus.choices)
    level = django_filters.ChoiceFilter(choices=RecallLevel.choices)
    product = django_filters.CharFilter(method="filter_product", label="Product id.")
    lot_number = django_filters.CharFilter(
        field_name="lots__lot_number", lookup_expr="icontains", distinct=True, label="Part of a recalled lot number, case-insensitive."
    )

    class Meta:
        model = Recall
        fields = ["status", "level", "product", "lot_number"]

    def filter_product(self, queryset, name, value):
        value = value.strip()
        if not value.isdecimal() or not value.isascii():
            raise InvalidInput(_("Product “%(value)s” is not a product id.") % {"value": value}, field="product")
        return queryset.filter(product_id=int(value))


class RecallCustomerSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = RecallCustomer
        fields = [
            "customer", "customer_code", "customer_name", "contact_name", "contact_phone", "address", "quantity_shipped",
            "shipment_count", "notified_at", "notification_method", "acknowledged_at", "quantity_recovered", "quantity_returned",
            "note",
        ]
        read_only_fields = fields


class RecallLotSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lot
        fields = ["id", "lot_number", "production_date", "expiry_date", "status"]
        read_only_fields = fields


class ReleasedReservationSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)
    lot_number = serializers.CharField(source="lot.lot_number", read_only=True)

    class Meta:
        model = RecallReleasedReservation
        fields = ["order", "order_number", "order_line", "lot", "lot_number", "warehouse", "quantity"]
        read_only_fields = fields


class RecallSerializer(serializers.ModelSerializer):
    product = PassThroughIntegerField()
    product_name = serializers.CharField(source="product.name", read_only=True)
    lots = LotIdsField(help_text="Lot ids of the product.")
    level = PassThroughTextField(help_text="1, 2 or 3 (一级, 二级, 三级召回).")
    reason = PassThroughTextField()
    source = PassThroughTextField(required=False)
    customers = RecallCustomerSerializer(many=True, read_only=True)
    released_reservations = ReleasedReservationSerializer(many=True, read_only=True)
    notification_due = serializers.DateField(read_only=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Recall
        fields = [
            "id", "number", "product", "product_name", "lots", "level", "reason", "source", "status", "notification_due",
            "customers", "released_reservations", "created_by", "created_at", "opened_at", "closed_at", "closing_note",
            "withdrawn_at", "withdrawal_reason", "allowed_actions",
        ]
        read_only_fields = [
            "number", "status", "created_by", "created_at", "opened_at", "closed_at", "closing_note", "withdrawn_at", "withdrawal_reason",
        ]

    def get_allowed_actions(self, recall) -> list[str]:
        return services.allowed_actions(recall, self.context["request"].user)

    def to_representation(self, recall):
        data = super().to_representation(recall)
        data["product"] = recall.product_id
        data["lots"] = RecallLotSerializer(recall.lots.all(), many=True).data
        return data

    def create(self, validated_data):
        return services.create_recall(actor=self.context["request"].user, **validated_data)

    def update(self, recall, validated_data):
        return services.update_recall(actor=self.context["request"].user, recall=recall, **validated_data)


class CustomerActionSerializer(serializers.Serializer):
    customer = PassThroughIntegerField()
    method = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RecoverySerializer(serializers.Serializer):
    customer = PassThroughIntegerField()
    quantity_recovered = PassThroughIntegerField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CloseSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class RecallViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Recalls, for the quality officer (read and write), managers and logistics (read only).

    Actions: ``open`` blocks the lots and lists the customers; ``withdraw``
    ends a draft entered by mistake; ``notify``, ``acknowledge`` and
    ``recover`` record the follow-up of one customer; ``close`` ends an open
    recall. Other roles get 403. Filters: ``status``, ``level``, ``product``
    and ``lot_number``; ``search`` matches the number, product name or SKU
    and lot number, like the web list.
    """

    serializer_class = RecallSerializer
    filterset_class = RecallFilter
    search_fields = ["number", "product__name", "product__sku", "lots__lot_number"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not can_view_recalls(request.user):
            raise PermissionDenied(_("Only the quality officer, logistics and managers can see recalls."))

    def get_queryset(self):
        return (
            recall_list(self.request.user)
            .select_related("product")
            .prefetch_related(
                Prefetch("customers", queryset=RecallCustomer.objects.select_related("customer").order_by("customer__code")),
                Prefetch(
                    "released_reservations",
                    queryset=RecallReleasedReservation.objects.select_related("order", "lot").order_by("order__number", "lot__lot_number", "pk"),
                ),
            )
        )

    def _respond(self, recall, status_code=status.HTTP_200_OK):
        recall = self.get_queryset().get(pk=recall.pk)
        return Response(self.get_serializer(recall).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save(), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save())

    @extend_schema(request=None)
    @action(detail=True, methods=["post"], url_path="open")
    def open_recall(self, request, pk=None):
        """Block the lots and build the customer list."""
        return self._respond(services.open_recall(actor=request.user, recall=self.get_object()))

    @extend_schema(request=WithdrawSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw a draft entered by mistake, with the ``reason``; its lots become free for another recall."""
        serializer = WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(
            services.withdraw_recall(actor=request.user, recall=self.get_object(), reason=serializer.validated_data["reason"])
        )

    @extend_schema(request=CustomerActionSerializer)
    @action(detail=True, methods=["post"])
    def notify(self, request, pk=None):
        serializer = CustomerActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recall = self.get_object()
        services.record_notification(actor=request.user, recall=recall, **serializer.validated_data)
        return self._respond(recall)

    @extend_schema(request=CustomerActionSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        serializer = CustomerActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        recall = self.get_object()
        services.record_acknowledgement(actor=request.user, recall=recall, customer=data["customer"], note=data["note"])
        return self._respond(recall)

    @extend_schema(request=RecoverySerializer)
    @action(detail=True, methods=["post"])
    def recover(self, request, pk=None):
        serializer = RecoverySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        recall = self.get_object()
        services.record_recovered_quantity(
            actor=request.user, recall=recall, customer=data["customer"], quantity=data["quantity_recovered"], note=data["note"]
        )
        return self._respond(recall)

    @extend_schema(request=CloseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        serializer = CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(services.close_recall(actor=request.user, recall=self.get_object(), note=serializer.validated_data["note"]))
