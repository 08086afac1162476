import numpy as np
from alpha_core.sim.ops import KERNELS

nan = np.nan


def col(*values):
    """One instrument's history (oldest first) as a (T, 1) array."""
    return np.asarray(values, dtype=np.float64).reshape(-1, 1)


def row(*values):
    """One date's cross-section as a (1, N) array."""
    return np.asarray(values, dtype=np.float64).reshape(1, -1)


def call(name, *inputs, **params):
    """Call a kernel the way the evaluator does: every catalogue parameter by keyword."""
    from alpha_core.expr.catalogue import REQUIRED, catalogue
    spec = catalogue().get(name)
    if spec.variadic:
        return KERNELS[name](*inputs, **params)
    names = [p.name for p in spec.params]
    kwargs = dict(zip(names, inputs))
    for p in spec.params:
        if p.name not in kwargs and p.name not in params and p.default is not REQUIRED:
            kwargs[p.name] = p.default
    kwargs.update(params)
    return KERNELS[name](**kwargs)
