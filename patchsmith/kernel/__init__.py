"""Choosing what to carry, as only a kernel tree can tell: the Kbuild class of each file under a
``.config`` (the tree's Kbuild files read as make would, on the tree as the patch leaves it), and
the dependency warnings of a selection. Shipping what was carried is :mod:`patchsmith.ship`."""
