"""Savings page routes."""

from django.urls import path

from . import views

app_name = "insights"
urlpatterns = [
    path("", views.savings_overview, name="overview"),
    path("savings.csv", views.savings_csv, name="csv"),
    path("<int:pk>/<slug:action>/", views.opportunity_action, name="action"),
]
