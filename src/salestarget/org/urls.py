from django.urls import path

from salestarget.org import views

app_name = "org"
urlpatterns = [
    path("", views.index, name="index"),
    path("people/<int:pk>/", views.person_detail, name="person"),
]
