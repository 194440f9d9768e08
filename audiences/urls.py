from django.urls import path

from audiences import views

app_name = "audiences"

urlpatterns = [
    path("", views.audience_list, name="list"),
    path("new/", views.audience_create, name="create"),
    path("reach/", views.audience_reach, name="reach"),
    path("<int:pk>/", views.audience_detail, name="detail"),
    path("<int:pk>/edit/", views.audience_edit, name="edit"),
    path("<int:pk>/clone/", views.audience_clone, name="clone"),
    path("<int:pk>/delete/", views.audience_delete, name="delete"),
    path("<int:pk>/history/", views.audience_history, name="history"),
    path("<int:pk>/history/restore/", views.audience_restore, name="restore"),
]
