"""The service core: domains (roster, claims, complaints, staff, audit...), storage and the app."""
