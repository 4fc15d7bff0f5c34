"""The doors a contact comes in by: emailed sign-in links, newsletter links
and (see wordpress.py) the WordPress login."""
