"""What the targets, Locust and the lab agree on: metric names, route templates, the scenario
catalogue, target settings, well-known ports.

The targets import loadlab through this package only, and it imports nothing else of loadlab.
"""
