from django.urls import path

from salestarget.targets import views

app_name = "targets"
urlpatterns = [
    path("recommend/", views.recommend, name="recommend"),
    path("recommend/backtest/", views.backtest, name="backtest"),
    path("recommend/adopt/", views.adopt, name="adopt"),
]
