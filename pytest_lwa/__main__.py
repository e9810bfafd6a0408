"""``python -m pytest_lwa serve``."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
