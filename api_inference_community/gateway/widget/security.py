"""The security headers of the widget's pages and assets.

A strict Content-Security-Policy: scripts, styles and fetches from the gateway itself only (no
inline script or style, nothing from another origin), images and sounds from the gateway or made
in the page (`blob:`, `data:` for the masks and depth maps the models answer), no frames, no
plugins, forms posting only here. The microphone may be used by the page itself (recording), no
camera or location.
"""

from __future__ import annotations

from typing import Dict

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)

SECURITY_HEADERS: Dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "microphone=(self), camera=(), geolocation=(), payment=(), usb=()",
}


def page_headers() -> Dict[str, str]:
    """A page's headers: the security headers, and no caching (it shows the model's current state)."""
    return {**SECURITY_HEADERS, "cache-control": "no-store"}
