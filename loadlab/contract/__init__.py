"""What the targets, Locust and the lab agree on: metric names, route templates, target settings.

The targets import loadlab through this package only, and it imports nothing else of loadlab.
"""
