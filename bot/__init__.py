"""Polder's conversation engine: channel-agnostic events in, actions out."""

__version__ = "0.1.0"
