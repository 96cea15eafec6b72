"""Training algorithms: a family open to the user's own, one file each.

Built in (``algorithm.name``): ``sgp`` and ``osgp`` (Assran et al., ICML
2019), ``allreduce`` (Goyal et al. 2017), ``dpsgd`` (Lian et al., NeurIPS
2017), ``adpsgd`` (Lian et al., ICML 2018), ``localsgd`` (Stich, ICLR 2019),
``ps-sync`` and ``ps-async`` (parameter servers) and ``dcasgd`` (Zheng et al.,
ICML 2017). Each module holds one algorithm: its parameter dataclass, its
class registered with :func:`register`, its processes and its pure math.

A new algorithm is one file, in the package or in the user's own code: see
:class:`Algorithm` and :mod:`simsgp.algorithms.base`. Importing this package
imports no algorithm; each is imported when a scenario first names it.
"""

from simsgp.algorithms import base
from simsgp.algorithms.base import *  # (the family's public names: the protocol, register, lookups)

__all__ = base.__all__
