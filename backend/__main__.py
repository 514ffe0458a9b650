"""``python -m backend …``: run the service and the admin commands."""

from backend.cli import main

raise SystemExit(main())
