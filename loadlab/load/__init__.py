"""Locust's side: modules imported only inside Locust processes (they import gevent), and the
one function that builds a Locust command line (`loadlab.load.command`, gevent-free)."""
