"""The contract every dimred method follows, and what a method declares it can do.

The lowest layer of methods: :mod:`dimred.linear`, :mod:`dimred.neural` and the
benchmark build on it; it imports none of them.
"""
