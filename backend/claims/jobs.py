"""Jobs of the claims domain (registered with ``backend.jobs.registry``): W-16, fetching what
customers send in WeChat (``backend.claims.media``)."""

from __future__ import annotations

from backend.claims.attachments import FETCH_KIND
from backend.claims.media import fetch_media
from backend.hooks import JobKind

KINDS: list[JobKind] = [
    # Within minutes, and well before WeChat deletes it 3 days later: 30 s, 1, 2, 4… min, 10 tries.
    JobKind(name=FETCH_KIND, handler=fetch_media, max_attempts=10, backoff_base_s=30, backoff_cap_s=3600,
            lease_s=120),
]
