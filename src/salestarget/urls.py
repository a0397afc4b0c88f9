from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from salestarget.api import api

urlpatterns = [
    path("", include("salestarget.web.urls")),
    path("org/", include("salestarget.org.urls")),
    path("actuals/", include("salestarget.actuals.urls")),
    path("targets/", include("salestarget.targets.urls")),
    path("tracking/", include("salestarget.tracking.urls")),
    path("alerts/", include("salestarget.alerts.urls")),
    path("accounts/", include("salestarget.accounts.urls")),
    path("settings/", include("salestarget.metrics.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
