"""Shipping what was carried, the pipeline's other end: whether modules built here will load on
the target (preflight), the build behind the gate, signatures, and the packages users install
(``.tgz``, ``.deb``, DKMS). Choosing what to carry is :mod:`patchsmith.kernel`."""
