from django.urls import path

from reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("mine/", views.my_items, name="mine"),
    path("counts/", views.queue_counts, name="counts"),
    path("next/", views.claim_next, name="next"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("items/<int:pk>/claim/", views.claim, name="claim"),
    path("items/<int:pk>/release/", views.release, name="release"),
    path("items/<int:pk>/decide/", views.decide, name="decide"),
]
