from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("calendar/", views.campaign_calendar, name="calendar"),
    path("form-checks/", views.campaign_form_checks, name="form_checks"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/duplicate/", views.campaign_duplicate, name="duplicate"),
    path("<int:pk>/reapply/", views.campaign_reapply, name="reapply"),
    path("<int:pk>/delete/", views.campaign_delete, name="delete"),
    path("<int:pk>/history/", views.campaign_history, name="history"),
    path("<int:pk>/history/restore/", views.campaign_restore, name="restore"),
]
