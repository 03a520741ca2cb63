from django.urls import path

from instantory.accounts.tokens import ObtainTokenView, RevokeTokenView, RotateTokenView

urlpatterns = [
    path("token/", ObtainTokenView.as_view(), name="auth-token"),
    path("token/rotate/", RotateTokenView.as_view(), name="auth-token-rotate"),
    path("token/revoke/", RevokeTokenView.as_view(), name="auth-token-revoke"),
]
