"""Signing in to the dashboard without a browser (for checks that need no page)."""

from __future__ import annotations

import re

import httpx


def post_sign_in(http: httpx.Client, email: str, password: str, next: str = "") -> httpx.Response:
    """GET the sign-in page (its form token and cookie), then POST the form as a browser does."""
    page = http.get("/dashboard/signin")
    match = re.search(r'name="signin_token" value="([^"]+)"', page.text)
    assert match, page.text
    return http.post(
        "/dashboard/signin",
        data={"email": email, "password": password, "next": next, "signin_token": match[1]},
    )
