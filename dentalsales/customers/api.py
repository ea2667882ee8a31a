from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from dentalsales.accounts.models import User
from dentalsales.core.models import Region

from . import services
from .models import Customer, Qualification, QualificationKind
from .selectors import search_customers, visible_customers


class QualificationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=QualificationKind.choices)

    class Meta:
        model = Qualification
        fields = ["kind", "number", "valid_until"]


class CustomerSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)
    region = serializers.SlugRelatedField(
        slug_field="code", queryset=Region.objects.all(), required=False, allow_null=True,
        help_text="Six-, four- or two-digit National Bureau of Statistics code.",
    )
    region_name = serializers.CharField(source="region.full_name", read_only=True, default="")
    qualifications = QualificationSerializer(many=True, required=False)
    code = serializers.CharField(required=False, allow_blank=True, max_length=30)

    class Meta:
        model = Customer
        fields = [
            "id", "code", "name", "customer_type", "category", "grade", "owner", "owner_name", "region", "region_name",
            "address", "contact_name", "contact_phone", "credit_limit", "payment_terms_days", "min_shelf_life_days",
            "uscc", "uscc_override_reason", "is_active", "qualifications", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"uscc": {"validators": []}}

    def create(self, validated_data):
        return services.create_customer(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("code", None)
        return services.update_customer(actor=self.context["request"].user, customer=instance, **validated_data)


class CustomerViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Customers visible to the user: a representative's own, a supervisor's team's, everyone's for managers.

    ``?search=`` matches code, name, USCC, full pinyin or pinyin initials.
    """

    serializer_class = CustomerSerializer
    filterset_fields = ["customer_type", "category", "grade", "owner", "is_active"]
    ordering_fields = ["code", "name", "created_at"]
    # Search is the pinyin-aware selector below, not DRF's SearchFilter.
    filter_backends = [DjangoFilterBackend, OrderingFilter]

    def get_queryset(self):
        queryset = (
            visible_customers(self.request.user)
            .select_related("owner", "region")
            .prefetch_related(Prefetch("qualifications", queryset=Qualification.objects.order_by("kind", "pk")))
            .order_by("code")
        )
        return search_customers(queryset, self.request.query_params.get("search", ""))

    @extend_schema(request=QualificationSerializer(many=True), responses=CustomerSerializer)
    @action(detail=True, methods=["put"])
    def qualifications(self, request, pk=None):
        """Replace the customer's qualifications; for the quality officer, managers and administrators."""
        serializer = QualificationSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        customer = services.replace_qualifications(
            actor=request.user, customer=self.get_object(), qualifications=serializer.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=customer.pk)).data)
