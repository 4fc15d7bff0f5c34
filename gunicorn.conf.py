"""gunicorn's settings for the portal, read from the folder gunicorn starts
in (as the README's commands do). Threads: a page that waits for the CRM's
request budget, or for its turn to write to SQLite, holds one thread and not
a whole worker, so a spike of contacts is served side by side."""

worker_class = "gthread"
threads = 32
