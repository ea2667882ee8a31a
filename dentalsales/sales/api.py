from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from dentalsales.core.api import (
    IDEMPOTENCY_HEADER,
    created_or_replayed,
    idempotency_key_from,
)
from dentalsales.core.api_fields import PassThroughDecimalField, PassThroughIntegerField
from dentalsales.inventory.api import ShipmentSerializer
from dentalsales.inventory.models import Allocation, Warehouse

from . import amendments, selectors, services
from .models import OrderChannel, OrderStatusChange, SalesOrder, SalesOrderLine
from .review import review_checks
from .selectors import visible_orders


class OrderLineSerializer(serializers.ModelSerializer):
    product = PassThroughIntegerField()
    quantity = PassThroughIntegerField()
    unit_price = PassThroughDecimalField(required=False, allow_null=True, help_text="Tax-inclusive; blank for the list price.")
    product_name = serializers.CharField(source="product.name", read_only=True)
    specification = serializers.CharField(source="product.specification", read_only=True)
    unit = serializers.CharField(source="product.unit", read_only=True)

    class Meta:
        model = SalesOrderLine
        fields = [
            "id", "product", "product_name", "specification", "unit", "quantity", "unit_price", "amount", "tax_rate",
            "tax_amount", "shipped_quantity", "closed_short_quantity", "price_reasons",
        ]
        read_only_fields = ["amount", "tax_rate", "tax_amount", "shipped_quantity", "closed_short_quantity", "price_reasons"]

    def to_representation(self, line):
        data = super().to_representation(line)
        data["product"] = line.product_id
        data["quantity"] = line.quantity
        data["unit_price"] = f"{line.unit_price:.4f}"
        # Reserved: open reservations; backordered: unshipped units without one (released and partially shipped orders only).
        selectors.attach_line_stock(line.order, [line])
        data["reserved_quantity"] = line.reserved_quantity
        data["backordered_quantity"] = line.backordered_quantity
        if _sees_cost(self.context):
            data["unit_cost"] = f"{line.unit_cost:.4f}"
            data["gross_profit"] = f"{line.gross_profit:.2f}"
        return data


def _sees_cost(context):
    """Tell whether the requesting user may see standard cost and gross profit (supervisors, managers, finance)."""
    request = context.get("request")
    return request is not None and getattr(request.user, "sees_cost", False)


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True)
    customer = PassThroughIntegerField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    channel = serializers.CharField(help_text="One of: " + ", ".join(OrderChannel.values))
    customer_address = PassThroughIntegerField(
        required=False,
        allow_null=True,
        help_text="Id of one of the customer's delivery addresses; it fills delivery_address. "
        "Leave out and send delivery_address for free text; leave both out for the default address.",
    )
    allowed_actions = serializers.SerializerMethodField()
    backordered_quantity = serializers.SerializerMethodField(
        help_text="Units of a released or partially shipped order neither shipped, reserved nor closed short."
    )

    class Meta:
        model = SalesOrder
        fields = [
            "id", "number", "customer", "customer_name", "owner", "channel", "status", "order_date",
            "requested_delivery_date", "delivery_address", "customer_address", "customer_reference", "note", "lines",
            "total_amount",
            "tax_amount", "rejection_reason", "cancellation_reason", "review_note", "allowed_actions", "backordered_quantity",
            "created_at", "updated_at",
        ]
        read_only_fields = [
            "number", "status", "order_date", "total_amount", "tax_amount", "rejection_reason", "cancellation_reason",
            "review_note", "created_at", "updated_at",
        ]

    def get_allowed_actions(self, order) -> list[str]:
        return services.allowed_actions(order, self.context["request"].user)

    def get_backordered_quantity(self, order) -> int:
        return services.order_backordered_quantity(order)

    def to_representation(self, order):
        data = super().to_representation(order)
        data["customer"] = order.customer_id
        data["customer_address"] = order.customer_address_id
        if _sees_cost(self.context):
            profit, margin = order.gross_profit(order.lines.all())
            data["gross_profit"] = f"{profit:.2f}"
            data["gross_margin"] = None if margin is None else f"{margin:.4f}"
        return data

    def _header(self, validated_data):
        return {name: validated_data[name] for name in services.HEADER_FIELDS if name in validated_data}

    def create(self, validated_data):
        raise NotImplementedError("OrderViewSet.create calls the service directly.")

    def update(self, order, validated_data):
        lines = validated_data.get("lines")
        return services.update_order(
            actor=self.context["request"].user, order=order, lines=lines, **self._header(validated_data)
        )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReleaseSerializer(serializers.Serializer):
    allow_partial = serializers.BooleanField(
        required=False,
        default=False,
        help_text="False (default): refuse with 409 insufficient_stock when eligible stock does not cover every line. "
        "True: reserve what is eligible and keep the rest of each line as backorder.",
    )


class AmendLineSerializer(serializers.Serializer):
    id = PassThroughIntegerField(required=False, allow_null=True, help_text="An order line to change; leave out to add a line.")
    product = PassThroughIntegerField(required=False, allow_null=True, help_text="The product of a line to add.")
    quantity = PassThroughIntegerField(required=False, allow_null=True, help_text="Leave out to keep the line's quantity.")
    unit_price = PassThroughDecimalField(
        required=False,
        allow_null=True,
        help_text="Tax-inclusive; leave out to keep the line's price (a line to add: the price policy's price).",
    )


class AmendSerializer(serializers.Serializer):
    lines = AmendLineSerializer(many=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class StatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderStatusChange
        fields = ["id", "from_status", "to_status", "action", "actor", "reason", "checks", "changes", "created_at"]


class ShipLineSerializer(serializers.Serializer):
    order_line = serializers.IntegerField()
    quantity = serializers.IntegerField()


class ShipRequestSerializer(serializers.Serializer):
    carrier = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    waybill_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    warehouse = serializers.PrimaryKeyRelatedField(
        queryset=Warehouse.objects.all(),
        required=False,
        allow_null=True,
        help_text="Required when the reserved stock is in several warehouses: one shipment leaves from one warehouse.",
    )
    lines = ShipLineSerializer(many=True, required=False, help_text="Omit to ship everything reserved.")


class ReviewCheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    blocking = serializers.BooleanField()
    message = serializers.CharField()


class OrderReviewSerializer(serializers.Serializer):
    checks = ReviewCheckSerializer(many=True)


class AllocationSerializer(serializers.Serializer):
    order_line = serializers.IntegerField()
    product = serializers.IntegerField()
    lot_number = serializers.CharField()
    expiry_date = serializers.DateField()
    warehouse = serializers.CharField()
    quantity = serializers.IntegerField()
    shipped_quantity = serializers.IntegerField()
    open_quantity = serializers.IntegerField()


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Repeat a request with the same key to get the first order back instead of a second order.",
)


class OrderViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sales orders visible to the user.

    State changes are POST sub-paths. A refused change returns 400 or 409 with
    ``detail`` in the user's language, a forbidden one 403.
    """

    serializer_class = OrderSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["status", "customer", "channel", "owner"]
    ordering_fields = ["number", "order_date", "total_amount"]

    def get_queryset(self):
        queryset = selectors.with_backorders(
            visible_orders(self.request.user)
            .select_related("customer", "owner")
            .prefetch_related(
                Prefetch(
                    "lines",
                    queryset=SalesOrderLine.objects.select_related("product")
                    .prefetch_related(Prefetch("allocations", queryset=Allocation.objects.order_by("pk")))
                    .order_by("pk"),
                )
            )
            .order_by("-order_date", "-number")
        )
        if self.action == "list" and self.request.query_params.get("backordered") in ("true", "1"):
            queryset = queryset.filter(backordered_quantity__gt=0)
        return queryset

    def _respond(self, order, status_code=status.HTTP_200_OK):
        order = self.get_queryset().get(pk=order.pk)
        return Response(self.get_serializer(order).data, status=status_code)

    @extend_schema(parameters=[IDEMPOTENCY_PARAMETER])
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order, created = services.create_order(
            actor=request.user,
            customer=data["customer"],
            lines=[dict(line) for line in data["lines"]],
            idempotency_key=idempotency_key_from(request),
            **serializer._header(data),
        )
        order = self.get_queryset().get(pk=order.pk)
        return created_or_replayed(self.get_serializer(order).data, created)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._respond(services.submit_order(actor=request.user, order=self.get_object()))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve after the review checklist; a failed soft check needs ``reason``."""
        reason = self._reason(request)
        return self._respond(services.approve_order(actor=request.user, order=self.get_object(), reason=reason))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        reason = self._reason(request)
        return self._respond(services.reject_order(actor=request.user, order=self.get_object(), reason=reason))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "backordered", type=bool, required=False, description="true: only released and partially shipped orders with backorder."
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ReleaseSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release to logistics, reserving lots first-expiry-first-out.

        By default a shortage is refused with 409 ``insufficient_stock``;
        with ``allow_partial`` the order is released with what is eligible
        and each line's ``backordered_quantity`` shows the rest.
        """
        serializer = ReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.release_order(
            actor=request.user, order=self.get_object(), allow_partial=serializer.validated_data["allow_partial"]
        )
        return self._respond(order)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"], url_path="allocate-backorder")
    def allocate_backorder(self, request, pk=None):
        """Reserve newly available stock for the backordered units, first-expiry-first-out.

        409 ``no_backorder`` when nothing is backordered, 409
        ``insufficient_stock`` when no eligible stock is there yet.
        """
        return self._respond(services.allocate_backorder(actor=request.user, order=self.get_object()))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"], url_path="close-short")
    def close_short(self, request, pk=None):
        """Close a partially shipped order short with ``reason``: the unshipped units will not be delivered.

        Releases every reservation, gives contract quantities back, and
        completes the order (or moves it to shipped while a dispatched
        shipment awaits delivery confirmation).
        """
        reason = self._reason(request)
        return self._respond(services.close_short_order(actor=request.user, order=self.get_object(), reason=reason))

    @extend_schema(request=ShipRequestSerializer, responses={201: ShipmentSerializer})
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        serializer = ShipRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        quantities = {line["order_line"]: line["quantity"] for line in data["lines"]} if data.get("lines") else None
        shipment = services.ship_order(
            actor=request.user,
            order=self.get_object(),
            quantities=quantities,
            carrier=data["carrier"],
            waybill_number=data["waybill_number"],
            warehouse=data.get("warehouse"),
        )
        return Response(ShipmentSerializer(shipment, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._respond(services.complete_order(actor=request.user, order=self.get_object()))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        reason = self._reason(request)
        return self._respond(services.cancel_order(actor=request.user, order=self.get_object(), reason=reason))

    @extend_schema(request=AmendSerializer)
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        """Change line quantities and prices of an approved or released order, or add lines; ``reason`` is required.

        A change that raises the total runs the credit check and is refused
        with 409 ``credit_check_failed`` naming the figures.
        """
        serializer = AmendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = amendments.amend_order(
            actor=request.user, order=self.get_object(), lines=[dict(line) for line in data["lines"]], reason=data["reason"]
        )
        return self._respond(order)

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reinstate(self, request, pk=None):
        """Bring a cancelled order back after the credit check; ``reason`` is required."""
        reason = self._reason(request)
        return self._respond(amendments.reinstate_order(actor=request.user, order=self.get_object(), reason=reason))

    @extend_schema(responses=StatusChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """Status changes of the order, oldest first, with each amendment's old and new values."""
        changes = self.get_object().status_changes.order_by("created_at", "pk")
        return Response(StatusChangeSerializer(changes, many=True).data)

    @extend_schema(responses=OrderReviewSerializer)
    @action(detail=True, methods=["get"])
    def review(self, request, pk=None):
        """Compute the review checklist now; a failed ``blocking`` check stops approval."""
        return Response({"checks": [check.as_dict() for check in review_checks(self.get_object())]})

    @extend_schema(responses=AllocationSerializer(many=True))
    @action(detail=True, methods=["get"])
    def allocations(self, request, pk=None):
        """Lots reserved or shipped for the order, earliest expiry first."""
        order = self.get_object()
        rows = (
            Allocation.objects.filter(order_line__order=order)
            .select_related("lot", "warehouse", "order_line")
            .order_by("order_line_id", "lot__expiry_date", "pk")
        )
        return Response(
            [
                {
                    "order_line": allocation.order_line_id,
                    "product": allocation.order_line.product_id,
                    "lot_number": allocation.lot.lot_number,
                    "expiry_date": allocation.lot.expiry_date.isoformat(),
                    "warehouse": allocation.warehouse.code,
                    "quantity": allocation.quantity - allocation.released_quantity,
                    "shipped_quantity": allocation.shipped_quantity,
                    "open_quantity": allocation.open_quantity,
                }
                for allocation in rows
                if allocation.quantity - allocation.released_quantity > 0
            ]
        )

    def _reason(self, request):
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["reason"]
