from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from dentalsales.inventory.selectors import product_stock

from . import services
from .models import Category, Product
from .selectors import search_products


class ProductSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", queryset=Category.objects.all(), required=False, allow_null=True)
    category_name = serializers.CharField(source="category.name", read_only=True, default="")

    class Meta:
        model = Product
        fields = [
            "id", "sku", "name", "name_en", "brand", "manufacturer", "specification", "unit", "category", "category_name",
            "device_class", "registration_number", "registration_valid_until", "manufacturer_licence_number", "udi_di",
            "storage_conditions",
            "vat_rate", "list_price", "standard_cost", "is_implantable", "requires_drug_licence", "is_active", "is_demo",
        ]
        extra_kwargs = {"registration_number": {"validators": []}, "sku": {"validators": []}}

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        # Standard cost is for supervisors, managers and finance only.
        if request is None or not getattr(request.user, "sees_cost", False):
            fields.pop("standard_cost")
        return fields

    def validate_sku(self, value):
        queryset = Product.objects.filter(sku=value)
        if self.instance is not None:
            queryset = queryset.exclude(pk=self.instance.pk)
        if queryset.exists():
            from django.utils.translation import gettext as _

            raise serializers.ValidationError(_("SKU “%(value)s” is already used.") % {"value": value})
        return value

    def create(self, validated_data):
        return services.create_product(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.update_product(actor=self.context["request"].user, product=instance, **validated_data)


class LotStockSerializer(serializers.Serializer):
    lot_number = serializers.CharField()
    production_date = serializers.DateField()
    expiry_date = serializers.DateField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()
    quarantined = serializers.IntegerField()
    status = serializers.CharField()
    is_expired = serializers.BooleanField()


class ProductStockSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()
    quarantined = serializers.IntegerField(help_text="On hand in quarantine: never available.")
    lots = LotStockSerializer(many=True)


class ProductViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Products; ``?search=`` matches SKU, name, brand, manufacturer, specification and pinyin."""

    serializer_class = ProductSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["device_class", "is_active", "category__code"]
    ordering_fields = ["sku", "name", "list_price"]

    def get_queryset(self):
        queryset = Product.objects.select_related("category").order_by("sku")
        return search_products(queryset, self.request.query_params.get("search", ""))

    @extend_schema(responses=ProductStockSerializer)
    @action(detail=True, methods=["get"])
    def stock(self, request, pk=None):
        """Stock on hand, reserved and available in all warehouses, in total and per lot (earliest expiry first)."""
        stock = product_stock(self.get_object())
        lots = [{key: value for key, value in row.items() if key != "lot"} for row in stock["lots"]]
        totals = {key: stock[key] for key in ("on_hand", "reserved", "available", "quarantined")}
        return Response({**totals, "lots": lots})
