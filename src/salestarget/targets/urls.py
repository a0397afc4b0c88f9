from django.urls import path

from salestarget.targets import plan_views, views

app_name = "targets"
urlpatterns = [
    path("plans/", plan_views.plans, name="index"),
    path("plans/<int:pk>/", plan_views.plan, name="plan"),
    path("plans/<int:pk>/total/", plan_views.plan_total, name="plan_total"),
    path("plans/<int:pk>/export/", plan_views.plan_export, name="plan_export"),
    path("plans/<int:pk>/import/", plan_views.plan_import, name="plan_import"),
    path("recommend/", views.recommend, name="recommend"),
    path("recommend/backtest/", views.backtest, name="backtest"),
    path("recommend/adopt/", views.adopt, name="adopt"),
]
