"""The after-sales API: complaints, returns and exchanges, satisfaction call-backs.

State changes are POST sub-paths. A refused change returns 400 or 409 with
``detail`` in the user's language, a forbidden one 403, and
another representative's record returns 404.
"""

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from dentalsales.accounts.roles import SALES_ROLES
from dentalsales.core.api_fields import PassThroughField, PassThroughIntegerField
from dentalsales.core.errors import InvalidInput
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
    actor_name = serializers.CharField(read_only=True, help_text="The user's name, or “System” for the scheduler (actor is null).")
    event_text = serializers.CharField(
        read_only=True, help_text="For an entry the application wrote (kind not empty): its sentence in the request's language."
    )

    class Meta:
        model = ComplaintAction
        fields = ["id", "from_status", "to_status", "kind", "params", "event_text", "note", "actor", "actor_name", "created_at"]


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


# Values accepted by the yes/no filters of the complaint list; anything else is a 400.
TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"", "0", "false", "no", "off"}
COMPLAINT_FLAG_FILTERS = {
    "overdue": "Only open complaints past their due date.",
    "escalated": "Only open complaints escalated to a supervisor.",
    "adverse": "Only suspected adverse events.",
}


def _flag_filters(params):
    """Return the yes/no filters of ``params`` as booleans; raise ``ValidationError`` naming a value that is neither."""
    values, errors = {}, {}
    for name in COMPLAINT_FLAG_FILTERS:
        text = params.get(name, "").strip().lower()
        if text in TRUE_VALUES:
            values[name] = True
        elif text in FALSE_VALUES:
            values[name] = False
        else:
            errors[name] = [_("“%(value)s” is not a valid value for %(name)s; use true or false.") % {"value": params.get(name), "name": name}]
    if errors:
        raise serializers.ValidationError(errors)
    return values


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter(name, bool, description=text) for name, text in COMPLAINT_FLAG_FILTERS.items()]
    )
)
class ComplaintViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Complaints and feedback visible to the user; ``?overdue=true``, ``?escalated=true``, ``?adverse=true`` filter further."""

    serializer_class = ComplaintSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["status", "severity", "category", "customer", "owner", "suspected_adverse_event"]
    ordering_fields = ["number", "received_on", "due_date", "severity"]

    def get_queryset(self):
        flags = _flag_filters(self.request.query_params) if self.action == "list" else {}
        return selectors.complaint_list(self.request.user, **flags).prefetch_related(Prefetch("actions", queryset=ComplaintAction.objects.select_related("actor").order_by("pk")))

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
            "reason_note", "unit_price", "amount", "disposition", "received_quantity", "stock_quantity",
            "quarantine_quantity", "scrap_quantity", "receipt_note", "credited_amount", "warehouse",
        ]
        read_only_fields = [
            "product", "unit_price", "amount", "disposition", "received_quantity", "stock_quantity", "quarantine_quantity",
            "scrap_quantity", "receipt_note", "credited_amount", "warehouse",
        ]
        extra_kwargs = {"reason_note": {"max_length": None}}

    def to_representation(self, line):
        data = super().to_representation(line)
        data["shipment_line"] = line.shipment_line_id
        data["lot_number"] = line.lot.lot_number
        data["quantity"] = line.quantity
        data["unit_price"] = f"{line.unit_price:.4f}"
        data["amount"] = f"{line.amount:.2f}"
        data["credited_amount"] = None if line.credited_amount is None else f"{line.credited_amount:.2f}"
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
            "credited_amount", "rejection_reason", "cancellation_reason", "inspection_note", "replacement_order",
            "replacement_order_number", "credit_note_number", "allowed_actions", "created_at", "updated_at",
        ]
        read_only_fields = [
            "number", "status", "total_amount", "credited_amount", "rejection_reason", "cancellation_reason", "inspection_note",
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
        data["credited_amount"] = None if request.credited_amount is None else f"{request.credited_amount:.2f}"
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
    received_quantity = PassThroughIntegerField(required=False, help_text="Units that arrived, 0 up to the approved quantity (default: all).")
    stock_quantity = PassThroughIntegerField(required=False, help_text="Units back to stock.")
    quarantine_quantity = PassThroughIntegerField(required=False, help_text="Units to quarantine.")
    scrap_quantity = PassThroughIntegerField(required=False, help_text="Units to scrap.")
    disposition = PassThroughField(required=False, help_text="stock, quarantine or scrap: every received unit goes there.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=None, help_text="Required when fewer units arrived.")


class ReceiveSerializer(serializers.Serializer):
    lines = ReceiveLineSerializer(many=True)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)


class ScanSerializer(serializers.Serializer):
    customer = PassThroughIntegerField()
    barcode = serializers.CharField(max_length=200, allow_blank=True)


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
        """Receive and inspect: per return line the quantity received and its split between stock, quarantine and scrap.

        The credit note covers the units received.
        """
        serializer = ReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        request_obj = services.receive_return(
            actor=request.user,
            request=self.get_object(),
            lines=[dict(line) for line in serializer.validated_data["lines"]],
            note=serializer.validated_data["note"],
        )
        return self._respond(request_obj)

    @extend_schema(request=ScanSerializer)
    @action(detail=False, methods=["post"])
    def scan(self, request):
        """Find the customer's returnable shipment lines of the lot (and product) in a scanned GS1 barcode; 400 names an unmatched code."""
        if not request.user.has_role(*SALES_ROLES):
            raise PermissionDenied(_("Only sales staff can enter returns."))
        serializer = ScanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = visible_customers(request.user).filter(pk=_int_or_none(serializer.validated_data["customer"])).first()
        if customer is None:
            raise NotFound()
        found = selectors.match_scanned_line(request.user, customer, serializer.validated_data["barcode"])
        values = found["values"]
        return Response(
            {
                "gtin": values["gtin"],
                "lot_number": values["lot_number"],
                "expiry_date": values["expiry_date"].isoformat() if values["expiry_date"] else None,
                "serial_number": values["serial_number"],
                "shipment_lines": [line.pk for line in found["lines"]],
            }
        )

    @extend_schema(parameters=[OpenApiParameter("customer", int, required=True)])
    @action(detail=False, methods=["get"])
    def returnable(self, request):
        """List the customer's dispatched shipment lines that still have units to return.

        ``recalls`` names the open or closed recalls of the lot that list the
        customer. A line whose units the recall records as recovered without a
        return is listed with ``returnable`` 0 and ``recovered_by_hand`` set.
        """
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
                "recalls": [recall.number for recall in line.recalls],
                # Units the recall records as recovered without a return; they cap ``returnable``.
                "recovered_by_hand": line.recall_limit["by_hand"] if line.recall_limit else 0,
            }
            for line in selectors.returnable_lines(request.user, customer)
        ]
        return Response(rows)


def _two_places(value):
    return None if value is None else f"{value:.2f}"


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CallbackRecordSerializer(serializers.Serializer):
    reached = serializers.BooleanField(required=False, default=True, help_text="false for an unanswered call.")
    score = PassThroughIntegerField(required=False, allow_null=True, default=None)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=None)
    retry_on = PassThroughField(
        required=False, allow_null=True, default=None,
        help_text="Unanswered call: YYYY-MM-DD of the next call (default: SATISFACTION_CALLBACK_RETRY_DAYS from today).",
    )
    close_unreachable = serializers.BooleanField(
        required=False, default=False,
        help_text="Unanswered call: close the call-back as unreachable; allowed from the SATISFACTION_CALLBACK_MAX_ATTEMPTS-th call.",
    )


class CallbackSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    shipment_number = serializers.CharField(source="shipment.number", read_only=True)

    class Meta:
        model = SatisfactionCallback
        fields = [
            "id", "shipment", "shipment_number", "customer", "customer_name", "owner", "due_date", "status", "score",
            "comment", "unreachable_attempts", "last_attempt_at", "last_attempt_note", "completed_by", "completed_at",
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
        """Return the satisfaction scores of call-backs and complaints per dimension value: counts and averages per source and combined."""
        form = SatisfactionReportForm(request.query_params)
        if not form.is_valid():
            raise InvalidInput(field_errors={name: [str(message) for message in errors] for name, errors in form.errors.items()})
        filters = form.filters()
        rows = selectors.satisfaction_report(request.user, **filters)
        return Response(
            [
                {
                    "key": row["key"].isoformat() if hasattr(row["key"], "isoformat") else row["key"],
                    "label": row["label"],
                    "count": row["count"],
                    "average": f"{row['average']:.2f}",
                    "callback_count": row["callback_count"],
                    "callback_average": _two_places(row["callback_average"]),
                    "complaint_count": row["complaint_count"],
                    "complaint_average": _two_places(row["complaint_average"]),
                }
                for row in rows
            ]
        )

    @extend_schema(request=CallbackRecordSerializer)
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        """Record the call: ``score`` 1–5 and ``comment``; or ``reached: false`` with ``retry_on``, or ``close_unreachable``."""
        serializer = CallbackRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        callback = services.record_callback(actor=request.user, callback=self.get_object(), **serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=callback.pk)).data)

