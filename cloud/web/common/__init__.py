"""What the cloud's staff web apps share: sign-in, the page user, anti-forgery, htmx, the base style."""

from cloud.web.common.session import (
    COMMON_STATIC,
    COMMON_TEMPLATES,
    LoginRequired,
    WebUser,
    login_redirect,
    mount_login,
    page_user,
)

__all__ = [
    "COMMON_STATIC",
    "COMMON_TEMPLATES",
    "LoginRequired",
    "WebUser",
    "login_redirect",
    "mount_login",
    "page_user",
]
