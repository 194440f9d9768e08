from django.urls import path

from segments import views
from segments.picker import views as picker_views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="list"),
    path("add/", views.segment_add, name="add"),
    path("bulk/", views.segment_bulk, name="bulk"),
    path("picker/", picker_views.picker_search, name="picker_search"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/edit/", views.segment_edit, name="edit"),
    path("<int:pk>/active/", views.segment_set_active_view, name="set_active"),
    path("<int:pk>/delete/", views.segment_delete_view, name="delete"),
    path("<int:pk>/history/", views.segment_history, name="history"),
]
