from django.urls import path

from salestarget.tracking import views

app_name = "tracking"
urlpatterns = [
    path("", views.dashboard, name="index"),
    path("table/", views.table, name="table"),
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("wallboard/", views.wallboard, name="wallboard"),
]
