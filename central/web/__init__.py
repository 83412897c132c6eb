"""The office dashboard (issue 12): Starlette + Jinja2 pages, htmx and its SSE extension vendored."""
