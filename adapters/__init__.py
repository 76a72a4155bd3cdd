"""Channels: each module turns one platform's updates into engine events and renders actions."""
