from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dentalsales.accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("dentalsales.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("dentalsales.customers.urls")),
    path("crm/", include("dentalsales.crm.urls")),
    path("products/", include("dentalsales.catalog.urls")),
    path("orders/", include("dentalsales.sales.urls")),
    path("pricing/", include("dentalsales.pricing.urls")),
    path("notifications/", include("dentalsales.notifications.urls")),
    path("aftersales/", include("dentalsales.aftersales.urls")),
    path("finance/", include("dentalsales.finance.urls")),
    path("quality/", include("dentalsales.quality.urls")),
    path("", include("dentalsales.inventory.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
