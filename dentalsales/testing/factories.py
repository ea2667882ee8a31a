"""factory_boy factories for tests and benchmarks."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from dentalsales.accounts.models import Team, User
from dentalsales.catalog.models import Category, Product
from dentalsales.core.pinyin import build_search_text
from dentalsales.core.timeutils import local_today
from dentalsales.core.validators import USCC_CHARSET, uscc_check_character
from dentalsales.customers.models import Customer, Qualification, QualificationKind
from dentalsales.inventory.models import Warehouse

PASSWORD = "dentalsales"


def valid_uscc(n):
    """Return a valid 统一社会信用代码 derived from ``n``."""
    body = f"91310115{n:09d}"
    body = body[:8] + "".join(USCC_CHARSET[int(c)] for c in body[8:17])
    return body + uscc_check_character(body)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            # get_or_create: a transactional test's flush deletes the groups
            # that the data migration made.
            self.groups.add(Group.objects.get_or_create(name=role)[0])
        self.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Sequence(lambda n: f"北京口腔诊所{n}")
    customer_type = "clinic"
    category = "general"
    grade = "B"
    owner = factory.SubFactory(UserFactory)
    address = "北京市朝阳区建国路 1 号"
    credit_limit = Decimal("100000.00")
    payment_terms_days = 30
    min_shelf_life_days = 90
    uscc = factory.Sequence(valid_uscc)
    search_text = factory.LazyAttribute(lambda o: build_search_text(o.code, o.name, o.uscc))

    @factory.post_generation
    def qualifications(self, create, extracted, **kwargs):
        """Give the customer a valid practice licence unless a list of (kind, valid_until) is passed."""
        if extracted is None:
            extracted = [(QualificationKind.MEDICAL_INSTITUTION_LICENCE, local_today() + datetime.timedelta(days=365))]
        for index, (kind, valid_until) in enumerate(extracted):
            Qualification.objects.create(
                customer=self,
                kind=kind,
                number=f"PDY{self.pk:05d}{index}",
                valid_until=valid_until,
                verification_status="verified",
            )


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = "EBF"
    name = "复合树脂"
    name_en = "Material, Tooth Shade, Resin"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.Sequence(lambda n: f"光固化复合树脂{n}")
    brand = "Demo"
    manufacturer = "Demo Dental Co."
    specification = "4g/支"
    unit = "支"
    category = factory.SubFactory(CategoryFactory)
    device_class = "II"
    registration_number = factory.Sequence(lambda n: f"粤械注准2020217{n % 10000:04d}")
    registration_valid_until = factory.LazyFunction(lambda: local_today() + datetime.timedelta(days=720))
    storage_conditions = "2-25℃ 避光"
    vat_rate = Decimal("0.13")
    list_price = Decimal("130.00")
    standard_cost = Decimal("80.00")
    search_text = factory.LazyAttribute(lambda o: build_search_text(o.sku, o.name, o.brand, o.manufacturer, o.specification))


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = "WH1"
    name = "上海中心仓"


_lot_counter = iter(range(1, 10**9))


def receive(product, warehouse, *, quantity, actor, expiry_days=720, lot_number=None, production_days_ago=30):
    """Receive stock through the real service; return the receipt."""
    from dentalsales.inventory.services import receive_stock

    today = local_today()
    production_date = today - datetime.timedelta(days=production_days_ago)
    expiry_date = today + datetime.timedelta(days=expiry_days)
    return receive_stock(
        actor=actor,
        product=product,
        warehouse=warehouse,
        lot_number=lot_number or f"L{next(_lot_counter):06d}",
        production_date=production_date,
        expiry_date=expiry_date,
        quantity=quantity,
        # A lot that has expired by now is entered as received before it expired.
        received_on=min(today, max(production_date, expiry_date)),
    )


def make_order(*, actor, customer, lines, channel="phone", **fields):
    """Create a draft order through the real service; ``lines`` are (product, quantity[, unit_price])."""
    from dentalsales.sales.services import create_order

    order, _ = create_order(
        actor=actor,
        customer=customer,
        channel=channel,
        lines=[
            {"product": item[0], "quantity": item[1], **({"unit_price": item[2]} if len(item) > 2 else {})}
            for item in lines
        ],
        **fields,
    )
    return order


def deliver_shipments(order, *, reviewer, logistics):
    """Review, dispatch and confirm delivery of every open shipment of ``order`` through the real services; return them.

    ``reviewer`` must not be the picker. The signed receipts are tiny PDFs
    saved under a fresh temporary MEDIA_ROOT, so tests never write into the
    project's media folder.
    """
    import tempfile

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import override_settings

    from dentalsales.inventory import shipping
    from dentalsales.inventory.models import ReviewLineResult, ShipmentStatus

    shipments = list(order.shipments.exclude(status__in=[ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED]).order_by("pk"))
    with override_settings(MEDIA_ROOT=tempfile.mkdtemp(prefix="dentalsales-test-media-")):
        for shipment in shipments:
            if shipment.status == ShipmentStatus.PICKED:
                lines = {line.pk: {"result": ReviewLineResult.OK} for line in shipment.lines.all()}
                shipping.review_shipment(actor=reviewer, shipment=shipment, lines=lines)
                shipment.refresh_from_db()
            if shipment.status == ShipmentStatus.REVIEWED:
                shipping.dispatch_shipment(actor=logistics, shipment=shipment)
            receipt = SimpleUploadedFile("signed-receipt.pdf", b"%PDF-1.4\n%%EOF\n")
            shipping.confirm_delivery(actor=logistics, shipment=shipment, signed_receipt=receipt)
    return shipments
