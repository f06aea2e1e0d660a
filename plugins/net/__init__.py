"""Shared pieces of the ``udp`` and ``tcp`` models and of ``runner serve``.

The wire formats (``fileproto``, ``udpproto``) are documented in docs/protocols.md; servers
and clients here speak only those.  Nothing in this package imports gevent at module level:
gevent is imported inside the functions that use it, so the CLI stays light and trials that
do not use it never load it.
"""
