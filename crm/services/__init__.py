"""Domain logic shared by views, the API and the CLI. No request state in here (STYLE.md 2.4)."""
