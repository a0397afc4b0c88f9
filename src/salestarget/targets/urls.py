from django.urls import path

from salestarget.targets import commitment_views, grid_views, plan_views, scenario_views, views, wizard_views

app_name = "targets"
urlpatterns = [
    path("plans/", plan_views.plans, name="index"),
    path("inbox/", plan_views.inbox, name="inbox"),
    path("plans/<int:pk>/", plan_views.plan, name="plan"),
    path("plans/<int:pk>/total/", plan_views.plan_total, name="plan_total"),
    path("plans/<int:pk>/export/", plan_views.plan_export, name="plan_export"),
    path("plans/<int:pk>/import/", plan_views.plan_import, name="plan_import"),
    path("plans/<int:pk>/workflow/", plan_views.plan_workflow, name="plan_workflow"),
    path("plans/<int:pk>/restore/", plan_views.plan_restore, name="plan_restore"),
    path("plans/<int:pk>/versions/", plan_views.plan_versions, name="plan_versions"),
    path("plans/<int:pk>/tracking/", plan_views.plan_tracking, name="plan_tracking"),
    path("plans/<int:pk>/mid-year/", plan_views.plan_midyear, name="plan_midyear"),
    path("plans/<int:pk>/commitments/", commitment_views.kickoff, name="kickoff"),
    path(
        "plans/<int:pk>/changes/<int:request_id>/",
        plan_views.change_request_decide,
        name="change_request_decide",
    ),
    path("plans/<int:pk>/grid/", grid_views.grid_page, name="grid"),
    path("plans/<int:pk>/scenarios/", scenario_views.scenarios, name="scenarios"),
    path("plans/<int:pk>/compare/", scenario_views.compare, name="compare"),
    path("plans/<int:pk>/decompose/", wizard_views.decompose, name="decompose"),
    path(
        "plans/<int:pk>/decompose/<int:scenario_id>/progress/",
        wizard_views.decompose_progress,
        name="decompose_progress",
    ),
    path("cells/<int:cell_id>/why/", wizard_views.why, name="why"),
    path("recommend/", views.recommend, name="recommend"),
    path("recommend/backtest/", views.backtest, name="backtest"),
    path("recommend/adopt/", views.adopt, name="adopt"),
]
