"""The after-sales API: complaints, returns and exchanges, satisfaction call-backs.

State changes are POST sub-paths. A refused change returns 400 or 409 with
``detail`` in the user's language, a forbidden one 403, and
another representative's record returns 404.
"""

from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from dentalsales.core.api_fields import PassThroughField, PassThroughIntegerField
from dentalsales.customers.selectors import visible_customers

from . import selectors, services
from .forms import SatisfactionReportForm
from .models import (
    Complaint,
    ComplaintAction,
    ReturnLine,
    ReturnRequest,
    SatisfactionCallback,
)

COMPLAINT_INPUT_FIELDS = (
    "customer", "contact_name", "contact_phone", "channel", "category", "severity", "product", "lot", "lot_number",
    "description", "owner", "suspected_adverse_event", "received_on", "root_cause",
)


class ComplaintActionSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.display_name", read_only=True)

    class Meta:
        model = ComplaintAction
        fields = ["id", "from_status", "to_status", "note", "actor", "actor_name", "created_at"]


class ComplaintSerializer(serializers.ModelSerializer):
    customer = PassThroughIntegerField(required=False, allow_null=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    channel = PassThroughField(required=False)
    category = PassThroughField(required=False)
    severity = PassThroughField(required=False)
    product = PassThroughIntegerField(required=False, allow_null=True)
    lot = PassThroughIntegerField(required=False, allow_null=True)
    lot_number = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=None)
    owner = PassThroughIntegerField(required=False, allow_null=True)
    description = PassThroughField(required=False)
    received_on = serializers.DateField(required=False, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    actions = ComplaintActionSerializer(many=True, read_only=True)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Complaint
        fields = [
            "id", "number", "customer", "customer_name", "contact_name", "contact_phone", "channel", "category",
            "severity", "product", "lot", "lot_number", "description", "owner", "status", "received_on", "due_date",
            "is_overdue", "resolution", "root_cause", "satisfaction_score", "suspected_adverse_event",
            "adverse_event_review", "adverse_event_note", "escalated_to", "escalated_at", "resolved_at", "closed_at",
            "actions", "allowed_actions", "created_at", "updated_at",
        ]
        read_only_fields = [
            "number", "status", "due_date", "resolution", "satisfaction_score", "adverse_event_review",
            "adverse_event_note", "escalated_to", "escalated_at", "resolved_at", "closed_at", "created_at", "updated_at",
        ]
        # Length limits are checked by the service, which names the field.
        extra_kwargs = {name: {"max_length": None} for name in ("contact_name", "contact_phone", "root_cause")}

    def get_allowed_actions(self, complaint) -> list[str]:
        return services.allowed_complaint_actions(complaint, self.context["request"].user)

    def to_representation(self, complaint):
        data = super().to_representation(complaint)
        data["customer"] = complaint.customer_id
        data["product"] = complaint.product_id
        data["lot"] = complaint.lot_id
        data["lot_number"] = complaint.lot.lot_number if complaint.lot_id else ""
        data["owner"] = complaint.owner_id
        data["received_on"] = complaint.received_on.isoformat()
        return data

    def _fields(self, validated_data):
        values = dict(validated_data)
        return {name: values[name] for name in COMPLAINT_INPUT_FIELDS if name in values}

    def create(self, validated_data):
        fields = self._fields(validated_data)
        fields.pop("root_cause", None)
        return services.create_complaint(actor=self.context["request"].user, **fields)

    def update(self, complaint, validated_data):
        fields = self._fields(validated_data)
        for name in ("customer", "suspected_adverse_event", "received_on"):
            fields.pop(name, None)
        return services.update_complaint(actor=self.context["request"].user, complaint=complaint, **fields)


class ComplaintTransitionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)
    resolution = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None, max_length=None)
    root_cause = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None, max_length=None)
    satisfaction_score = PassThroughIntegerField(required=False, allow_null=True, default=None)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)


class AssessSerializer(serializers.Serializer):
    outcome = serializers.CharField(help_text="reported or dismissed")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)


class ComplaintViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Complaints and feedback visible to the user; ``?overdue=1``, ``?adverse=1`` filter further."""

    serializer_class = ComplaintSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["status", "severity", "category", "customer", "owner", "suspected_adverse_event"]
    ordering_fields = ["number", "received_on", "due_date", "severity"]

    def get_queryset(self):
        params = self.request.query_params
        return selectors.complaint_list(
            self.request.user,
            overdue=params.get("overdue") == "1",
            escalated=params.get("escalated") == "1",
            adverse=params.get("adverse") == "1",
        ).prefetch_related(Prefetch("actions", queryset=ComplaintAction.objects.select_related("actor").order_by("pk")))

    def _respond(self, complaint, status_code=status.HTTP_200_OK):
        complaint = self.get_queryset().get(pk=complaint.pk)
        return Response(self.get_serializer(complaint).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save(), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save())

    def _transition(self, request, name):
        serializer = ComplaintTransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = services.change_complaint_status(
            actor=request.user, complaint=self.get_object(), action=name, **serializer.validated_data
        )
        return self._respond(complaint)

    @extend_schema(request=ComplaintTransitionSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._transition(request, "start")

    @extend_schema(request=ComplaintTransitionSerializer)
    @action(detail=True, methods=["post"])
    def wait(self, request, pk=None):
        """Put the complaint on hold, waiting for the customer."""
        return self._transition(request, "wait")

    @extend_schema(request=ComplaintTransitionSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Resolve with ``resolution`` (and ``root_cause`` for a quality complaint)."""
        return self._transition(request, "resolve")

    @extend_schema(request=ComplaintTransitionSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close a resolved complaint, optionally with the customer's ``satisfaction_score`` (1–5)."""
        return self._transition(request, "close")

    @extend_schema(request=ComplaintTransitionSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._transition(request, "reopen")

    @extend_schema(request=NoteSerializer)
    @action(detail=True, methods=["post"], url_path="actions")
    def add_action(self, request, pk=None):
        """Add an action taken to the complaint's log."""
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.record_complaint_action(actor=request.user, complaint=self.get_object(), note=serializer.validated_data["note"])
        return self._respond(self.get_object())

    @extend_schema(request=NoteSerializer)
    @action(detail=True, methods=["post"], url_path="flag-adverse-event")
    def flag_adverse_event(self, request, pk=None):
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = services.flag_adverse_event(actor=request.user, complaint=self.get_object(), note=serializer.validated_data["note"])
        return self._respond(complaint)

    @extend_schema(request=AssessSerializer)
    @action(detail=True, methods=["post"])
    def assess(self, request, pk=None):
        """Record the quality officer's assessment of a suspected adverse event: ``reported`` or ``dismissed``."""
        serializer = AssessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = services.assess_adverse_event(actor=request.user, complaint=self.get_object(), **serializer.validated_data)
        return self._respond(complaint)

    @action(detail=True, methods=["get"], url_path="lot-customers")
    def lot_customers(self, request, pk=None):
        """List the other customers that received the complaint's lot, for the quality officer."""
        complaint = self.get_object()
        if not request.user.has_role(*selectors.LOT_TRACE_ROLES):
            raise PermissionDenied()
        rows = [
            {
                "customer": line.shipment.customer_id,
                "customer_name": line.shipment.customer.name,
                "shipment": line.shipment.number,
                "shipped_on": line.shipment.shipped_on.isoformat(),
                "quantity": line.quantity,
            }
            for line in selectors.lot_other_customers(complaint)
        ]
        return Response(rows)


class ReturnLineSerializer(serializers.ModelSerializer):
    shipment_line = PassThroughIntegerField()
    lot_number = PassThroughField(write_only=True, required=False)
    quantity = PassThroughIntegerField(required=False)
    reason = PassThroughField(required=False)
    product_name = serializers.CharField(source="shipment_line.product_name", read_only=True)
    shipment = serializers.CharField(source="shipment_line.shipment.number", read_only=True)

    class Meta:
        model = ReturnLine
        fields = [
            "id", "shipment_line", "shipment", "product", "product_name", "lot_number", "quantity", "reason",
            "reason_note", "unit_price", "amount", "disposition", "warehouse",
        ]
        read_only_fields = ["product", "unit_price", "amount", "disposition", "warehouse"]
        extra_kwargs = {"reason_note": {"max_length": None}}

    def to_representation(self, line):
        data = super().to_representation(line)
        data["shipment_line"] = line.shipment_line_id
        data["lot_number"] = line.lot.lot_number
        data["quantity"] = line.quantity
        data["unit_price"] = f"{line.unit_price:.4f}"
        data["amount"] = f"{line.amount:.2f}"
        return data


class ReturnSerializer(serializers.ModelSerializer):
    customer = PassThroughIntegerField(required=False, allow_null=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    kind = PassThroughField(required=False, help_text="return or exchange")
    lines = ReturnLineSerializer(many=True, required=False)
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    replacement_order = serializers.PrimaryKeyRelatedField(read_only=True)
    replacement_order_number = serializers.CharField(source="replacement_order.number", read_only=True, default="")
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = ReturnRequest
        fields = [
            "id", "number", "customer", "customer_name", "owner", "kind", "status", "note", "lines", "total_amount",
            "rejection_reason", "cancellation_reason", "inspection_note", "replacement_order",
            "replacement_order_number", "credit_note_number", "allowed_actions", "created_at", "updated_at",
        ]
        read_only_fields = [
            "number", "status", "total_amount", "rejection_reason", "cancellation_reason", "inspection_note",
            "credit_note_number", "created_at", "updated_at",
        ]
        extra_kwargs = {"note": {"max_length": None}}

    def get_allowed_actions(self, request) -> list[str]:
        return services.allowed_return_actions(request, self.context["request"].user)

    def to_representation(self, request):
        data = super().to_representation(request)
        data["customer"] = request.customer_id
        data["kind"] = request.kind
        data["total_amount"] = f"{request.total_amount:.2f}"
        return data

    def create(self, validated_data):
        lines = []
        for line in validated_data.get("lines", []):
            lines.append(dict(line))
        return services.create_return(
            actor=self.context["request"].user,
            customer=validated_data.get("customer"),
            kind=validated_data.get("kind"),
            lines=lines,
            note=validated_data.get("note", ""),
        )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)


class ApproveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)


class ReceiveLineSerializer(serializers.Serializer):
    id = PassThroughIntegerField()
    disposition = PassThroughField(help_text="stock, quarantine or scrap")


class ReceiveSerializer(serializers.Serializer):
    lines = ReceiveLineSerializer(many=True)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)


class ReturnViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Returns and exchanges visible to the user."""

    serializer_class = ReturnSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["status", "kind", "customer", "owner"]
    ordering_fields = ["number", "created_at", "total_amount"]

    def get_queryset(self):
        return selectors.return_list(self.request.user).prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("lot", "shipment_line__shipment").order_by("pk"))
        )

    def _respond(self, request_obj, status_code=status.HTTP_200_OK):
        request_obj = self.get_queryset().get(pk=request_obj.pk)
        return Response(self.get_serializer(request_obj).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save(), status.HTTP_201_CREATED)

    @extend_schema(request=ApproveSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve; an exchange gets a replacement order submitted for review."""
        serializer = ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(services.approve_return(actor=request.user, request=self.get_object(), **serializer.validated_data))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(services.reject_return(actor=request.user, request=self.get_object(), **serializer.validated_data))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(services.cancel_return(actor=request.user, request=self.get_object(), **serializer.validated_data))

    @extend_schema(request=ReceiveSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        """Receive and inspect: ``lines`` gives each return line's disposition (stock, quarantine or scrap)."""
        serializer = ReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dispositions = {line["id"]: line["disposition"] for line in serializer.validated_data["lines"]}
        request_obj = services.receive_return(
            actor=request.user, request=self.get_object(), dispositions=dispositions, note=serializer.validated_data["note"]
        )
        return self._respond(request_obj)

    @extend_schema(parameters=[OpenApiParameter("customer", int, required=True)])
    @action(detail=False, methods=["get"])
    def returnable(self, request):
        """List the customer's dispatched shipment lines that still have units to return."""
        customer = visible_customers(request.user).filter(pk=_int_or_none(request.query_params.get("customer"))).first()
        if customer is None:
            raise NotFound()
        rows = [
            {
                "shipment_line": line.pk,
                "shipment": line.shipment.number,
                "shipped_on": line.shipment.shipped_on.isoformat(),
                "product": line.product_id,
                "product_name": line.product_name,
                "lot_number": line.lot_number,
                "expiry_date": line.expiry_date.isoformat(),
                "shipped": line.quantity,
                "returned": line.returned,
                "returnable": line.returnable,
                "unit_price": f"{line.order_line.unit_price:.4f}",
            }
            for line in selectors.returnable_lines(request.user, customer)
        ]
        return Response(rows)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CallbackRecordSerializer(serializers.Serializer):
    reached = serializers.BooleanField(required=False, default=True)
    score = PassThroughIntegerField(required=False, allow_null=True, default=None)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)


class CallbackSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    shipment_number = serializers.CharField(source="shipment.number", read_only=True)

    class Meta:
        model = SatisfactionCallback
        fields = [
            "id", "shipment", "shipment_number", "customer", "customer_name", "owner", "due_date", "status", "score",
            "comment", "completed_by", "completed_at",
        ]
        read_only_fields = fields


class CallbackViewSet(viewsets.ReadOnlyModelViewSet):
    """Satisfaction call-backs of the user's customers; ``?due=1`` keeps those due now."""

    serializer_class = CallbackSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["status", "customer", "owner"]
    ordering_fields = ["due_date", "completed_at"]

    def get_queryset(self):
        return selectors.callback_list(self.request.user, due_only=self.request.query_params.get("due") == "1")

    @extend_schema(
        parameters=[
            OpenApiParameter("dimension", str, description="representative (default), customer, product or month"),
            OpenApiParameter("start", str, description="YYYY-MM-DD, first day of call-backs counted"),
            OpenApiParameter("end", str, description="YYYY-MM-DD, last day of call-backs counted"),
        ]
    )
    @action(detail=False, methods=["get"])
    def report(self, request):
        """Return the average satisfaction score and the number of scored call-backs per dimension value."""
        form = SatisfactionReportForm(request.query_params)
        filters = form.filters()
        rows = selectors.satisfaction_report(request.user, **filters)
        return Response(
            [
                {
                    "key": row["key"].isoformat() if hasattr(row["key"], "isoformat") else row["key"],
                    "label": row["label"],
                    "count": row["count"],
                    "average": f"{row['average']:.2f}",
                }
                for row in rows
            ]
        )

    @extend_schema(request=CallbackRecordSerializer)
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        """Record the call: ``score`` 1–5 and ``comment``, or ``reached: false``."""
        serializer = CallbackRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        callback = services.record_callback(actor=request.user, callback=self.get_object(), **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=callback.pk)).data)

