"""The customer-development API: potential customers, activities, revisit plans and gifts.

Lists are scoped like the screens: another representative's record, or a
record created for or filtered by a customer the user may not see, is a
404. State changes are POST sub-paths that call the same services as the
screens; a rejected change returns 400, 403 or 409 with ``detail`` and
``code``.
"""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from dentalsales.accounts.roles import SALES_ROLES
from dentalsales.catalog.models import Product
from dentalsales.core.api import created_or_replayed, idempotency_key_from
from dentalsales.core.api_fields import PassThroughDecimalField, PassThroughField, PassThroughIntegerField
from dentalsales.core.timeutils import local_today
from dentalsales.customers.api import CustomerNotFoundMixin, customer_filter_id
from dentalsales.customers.models import Contact

from . import selectors, services
from .models import Activity, ActivityAmendment, Gift, Prospect, ProspectStageChange, RevisitPlan
from .services.gifts import allowed_actions as gift_actions


class CustomerDevelopmentPermission(BasePermission):
    """Admit the roles with the customer-development menu (sales); others get 403, as on the screens."""

    message = gettext_lazy("Customer development is for sales staff.")

    def has_permission(self, request, view):
        return request.user.is_authenticated and request.user.has_role(*SALES_ROLES)


PERMISSIONS = [IsAuthenticated, CustomerDevelopmentPermission]


@extend_schema_field(OpenApiTypes.STR)
class PassThroughTextField(PassThroughField):
    """Text the service checks, so that its error names the value."""


@extend_schema_field(OpenApiTypes.DATE)
class PassThroughDateField(PassThroughField):
    """A date the service parses, so that its error names the value."""


class CrmReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class StageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class StageChangeSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.display_name", read_only=True)

    class Meta:
        model = ProspectStageChange
        fields = ["from_stage", "to_stage", "reason", "order", "actor", "actor_name", "changed_at"]


class ProspectSerializer(serializers.ModelSerializer):
    """A potential customer. On creation, the customer's fields come along and the customer record is created too."""

    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    name = serializers.CharField(source="customer.name")
    customer_type = serializers.CharField(source="customer.customer_type")
    contact_name = serializers.CharField(source="customer.contact_name", required=False, allow_blank=True)
    contact_phone = serializers.CharField(source="customer.contact_phone", required=False, allow_blank=True)
    uscc = serializers.CharField(source="customer.uscc", required=False, allow_blank=True)
    address = serializers.CharField(source="customer.address", required=False, allow_blank=True)
    owner = serializers.IntegerField(source="customer.owner_id", read_only=True)
    source = PassThroughTextField()
    stage_changes = StageChangeSerializer(many=True, read_only=True)
    allow_duplicate_name = serializers.BooleanField(
        write_only=True, required=False, default=False,
        help_text="true accepts a name that matches another customer's; otherwise such a name is refused with the other customer's code.",
    )

    class Meta:
        model = Prospect
        fields = [
            "id", "customer", "customer_code", "name", "customer_type", "contact_name", "contact_phone", "uscc", "address",
            "owner", "source", "source_detail", "stage", "lost_reason", "won_order", "won_at", "stage_changes",
            "created_at", "updated_at", "allow_duplicate_name",
        ]
        read_only_fields = ["stage", "lost_reason", "won_order", "won_at", "created_at", "updated_at"]

    def create(self, validated_data):
        customer_fields = validated_data.pop("customer", {})
        return services.create_prospect(actor=self.context["request"].user, **customer_fields, **validated_data)


class ProspectViewSet(CustomerNotFoundMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Potential customers whose customer the user may see. ``POST …/stage/`` moves the stage; ``POST …/convert/`` converts by hand."""

    permission_classes = PERMISSIONS

    serializer_class = ProspectSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["source", "stage"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return (
            selectors.visible_prospects(self.request.user)
            .select_related("customer")
            .prefetch_related(Prefetch("stage_changes", queryset=ProspectStageChange.objects.select_related("actor")))
            .order_by("-created_at", "-pk")
        )

    def _respond(self, prospect, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=prospect.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save(), status.HTTP_201_CREATED)

    @extend_schema(request=StageSerializer, responses=ProspectSerializer)
    @action(detail=True, methods=["post"])
    def stage(self, request, pk=None):
        data = StageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prospect = services.change_prospect_stage(actor=request.user, prospect=self.get_object(), **data.validated_data)
        return self._respond(prospect)

    @extend_schema(request=CrmReasonSerializer, responses=ProspectSerializer)
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        data = CrmReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prospect = services.convert_prospect(actor=request.user, prospect=self.get_object(), **data.validated_data)
        return self._respond(prospect)

    @action(detail=False, methods=["get"])
    def conversion(self, request):
        """Conversion per source and per representative; ``?year=`` limits to potential customers created that year."""
        year = request.query_params.get("year")
        by_source, by_owner = selectors.conversion_rates(request.user, year=int(year) if str(year or "").isdigit() else None)
        return Response({"by_source": by_source, "by_owner": by_owner})


class AmendmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityAmendment
        fields = ["id", "reason", "outcome", "next_step", "author", "created_at"]
        read_only_fields = ["author", "created_at"]


class ActivitySerializer(serializers.ModelSerializer):
    customer = PassThroughIntegerField()
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    occurred_on = PassThroughDateField(help_text="YYYY-MM-DD")
    next_step_on = PassThroughDateField(required=False, allow_null=True, help_text="YYYY-MM-DD")
    contacts = serializers.PrimaryKeyRelatedField(many=True, queryset=Contact.objects.all(), required=False)
    products = serializers.PrimaryKeyRelatedField(many=True, queryset=Product.objects.all(), required=False)
    amendments = AmendmentSerializer(many=True, read_only=True)
    submit = serializers.BooleanField(write_only=True, required=False, default=False)

    class Meta:
        model = Activity
        fields = [
            "id", "customer", "customer_name", "owner", "kind", "occurred_on", "subject", "contacts", "products", "outcome",
            "next_step", "next_step_on", "status", "submitted_at", "amendments", "submit", "created_at", "updated_at",
        ]
        read_only_fields = ["owner", "status", "submitted_at", "created_at", "updated_at"]
        extra_kwargs = {"subject": {"max_length": None}, "kind": {"validators": []}}

    def to_representation(self, activity):
        data = super().to_representation(activity)
        data["customer"] = activity.customer_id
        data["occurred_on"] = activity.occurred_on.isoformat()
        data["next_step_on"] = activity.next_step_on.isoformat() if activity.next_step_on else None
        return data

    def create(self, validated_data):
        customer = validated_data.pop("customer")
        return services.create_activity(actor=self.context["request"].user, customer=customer, **validated_data)

    def update(self, activity, validated_data):
        validated_data.pop("customer", None)
        submit = validated_data.pop("submit", False)
        activity = services.update_activity(actor=self.context["request"].user, activity=activity, **validated_data)
        if submit:
            activity = services.submit_activity(actor=self.context["request"].user, activity=activity)
        return activity


class ActivityViewSet(CustomerNotFoundMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Activities with the customers the user may see. A draft is changed by PUT/PATCH; ``POST …/submit/`` locks it; ``POST …/amend/`` corrects a submitted one."""

    permission_classes = PERMISSIONS

    serializer_class = ActivitySerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["customer", "kind", "status", "owner"]
    ordering_fields = ["occurred_on", "created_at"]

    def get_queryset(self):
        # A customer the user may not see is a 404 rather than an empty list.
        customer_filter_id(self.request)
        return (
            selectors.visible_activities(self.request.user)
            .select_related("customer")
            .prefetch_related("contacts", "products", "amendments")
            .order_by("-occurred_on", "-pk")
        )

    def _respond(self, activity, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=activity.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save(), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save())

    @extend_schema(request=None, responses=ActivitySerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._respond(services.submit_activity(actor=request.user, activity=self.get_object()))

    @extend_schema(request=AmendmentSerializer, responses=ActivitySerializer)
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        data = AmendmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activity = self.get_object()
        services.amend_activity(actor=request.user, activity=activity, **data.validated_data)
        return self._respond(activity, status.HTTP_201_CREATED)


class RevisitPlanSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    overdue = serializers.SerializerMethodField()
    last_revisit = serializers.DateField(read_only=True, default=None)

    class Meta:
        model = RevisitPlan
        fields = ["id", "customer", "customer_code", "customer_name", "owner", "due_on", "status", "overdue", "last_revisit", "activity", "completed_on", "agreed_in"]

    def get_overdue(self, plan) -> bool:
        return plan.status == "open" and plan.due_on < local_today()


class RevisitPlanViewSet(CustomerNotFoundMixin, viewsets.ReadOnlyModelViewSet):
    """Open revisit plans due soon or overdue (``?state=overdue`` or ``?state=due``), of the customers the user may see.

    ``?customer=<id>`` narrows to one customer.
    """

    permission_classes = PERMISSIONS

    serializer_class = RevisitPlanSerializer

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else selectors.attach_last_revisits(page)

    def get_object(self):
        return selectors.attach_last_revisits([super().get_object()])[0]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RevisitPlan.objects.none()
        if self.action == "list":
            plans = selectors.revisit_list(self.request.user, state=self.request.query_params.get("state", ""))
            customer = customer_filter_id(self.request)
            return plans if customer is None else plans.filter(customer_id=customer)
        return selectors.visible_revisit_plans(self.request.user).select_related("customer")


class GiftSerializer(serializers.ModelSerializer):
    customer = PassThroughIntegerField()
    recipient = PassThroughIntegerField(help_text="A contact of the customer.")
    recipient_name = serializers.CharField(source="recipient.name", read_only=True)
    value = PassThroughDecimalField(help_text="Yuan, as a decimal string such as \"300.00\".")
    given_on = PassThroughDateField(help_text="YYYY-MM-DD")
    kind = PassThroughTextField(required=False)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Gift
        fields = [
            "id", "customer", "recipient", "recipient_name", "owner", "kind", "description", "value", "given_on", "purpose",
            "status", "decided_by", "decided_at", "decision_reason", "allowed_actions", "created_at", "updated_at",
        ]
        read_only_fields = ["owner", "status", "decided_by", "decided_at", "decision_reason", "created_at", "updated_at"]
        extra_kwargs = {"description": {"max_length": None}}

    def get_allowed_actions(self, gift) -> list[str]:
        return gift_actions(gift, self.context["request"].user)

    def to_representation(self, gift):
        data = super().to_representation(gift)
        data.update(customer=gift.customer_id, recipient=gift.recipient_id, value=f"{gift.value:.2f}", given_on=gift.given_on.isoformat(), kind=gift.kind)
        return data

    def create(self, validated_data):
        request = self.context["request"]
        return services.create_gift(actor=request.user, idempotency_key=idempotency_key_from(request), **validated_data)

    def update(self, gift, validated_data):
        validated_data.pop("customer", None)
        return services.update_gift(actor=self.context["request"].user, gift=gift, **validated_data)


class GiftViewSet(
    CustomerNotFoundMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Gifts and hospitality of the customers the user may see; actions ``request``, ``approve``, ``reject`` and ``give`` are POST sub-paths.

    A POST with an ``Idempotency-Key`` header already used by the same user
    records nothing and answers 200 with the first gift. DELETE removes a
    gift not yet approved (``?reason=`` is kept in its history).
    """

    permission_classes = PERMISSIONS

    serializer_class = GiftSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["customer", "status", "owner", "kind"]
    ordering_fields = ["given_on", "value"]

    def get_queryset(self):
        customer_filter_id(self.request)
        return selectors.visible_gifts(self.request.user).select_related("customer", "recipient").order_by("-given_on", "-pk")

    def _respond(self, gift, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=gift.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        gift = serializer.save()
        data = self.get_serializer(self.get_queryset().get(pk=gift.pk)).data
        return created_or_replayed(data, not gift.replayed)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return self._respond(serializer.save())

    def perform_destroy(self, gift):
        services.delete_gift(actor=self.request.user, gift=gift, reason=self.request.query_params.get("reason", ""))

    @extend_schema(request=None, responses=GiftSerializer)
    @action(detail=True, methods=["post"], url_path="request")
    def request_approval(self, request, pk=None):
        # Named apart from the URL because ``self.request`` is the HTTP request.
        return self._respond(services.request_gift_approval(actor=request.user, gift=self.get_object()))

    @extend_schema(request=CrmReasonSerializer, responses=GiftSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = CrmReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(services.approve_gift(actor=request.user, gift=self.get_object(), **data.validated_data))

    @extend_schema(request=CrmReasonSerializer, responses=GiftSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = CrmReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(services.reject_gift(actor=request.user, gift=self.get_object(), **data.validated_data))

    @extend_schema(request=None, responses=GiftSerializer)
    @action(detail=True, methods=["post"])
    def give(self, request, pk=None):
        return self._respond(services.mark_gift_given(actor=request.user, gift=self.get_object()))
