from django.urls import path

from salestarget.actuals import views

app_name = "actuals"
urlpatterns = [
    path("", views.index, name="index"),
    path("summary/", views.actuals_summary, name="summary"),
    path("summary.xlsx", views.actuals_summary_xlsx, name="summary_xlsx"),
    path("batches/", views.batches, name="batches"),
    path("batches/<int:pk>/", views.batch, name="batch"),
    path("batches/<int:pk>/errors.csv", views.error_report, name="error_report"),
    path("batches/<int:pk>/rollback/", views.rollback, name="rollback"),
    path("import/", views.upload, name="import"),
    path("import/<int:pk>/", views.mapping, name="import_map"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:pk>/errors.csv", views.upload_error_report, name="upload_error_report"),
    path("templates/<str:kind>.xlsx", views.template, name="template"),
    path("daily/", views.daily, name="daily"),
    path("daily/team/", views.unreported, name="unreported"),
]
