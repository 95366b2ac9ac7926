"""``patron demo``: a realistic, deterministic demo data set (see generate.py)."""

from patron.core.demo.generate import DemoRefused, DemoResult, demo_generate

__all__ = ["DemoRefused", "DemoResult", "demo_generate"]
