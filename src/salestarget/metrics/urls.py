from django.urls import path

from salestarget.metrics import views

app_name = "settings"
urlpatterns = [
    path("company/", views.company, name="company"),
    path("metrics/", views.metric_list, name="metrics"),
    path("calendar/", views.calendar, name="calendar"),
    path("metrics/<slug:code>/", views.metric_detail, name="metric"),
]
