"""Search families of ``lab tight``: one module per source, each registering families and loose reasons.

A family (:func:`lab.tightness.family`) is a parametrised set of instances of one theorem — problem
instances from :mod:`problems`, the lab's optimizers and oracles, step sizes, error sizes and kinds,
starting points — and a batched function giving the measured/bound ratio of each candidate.
"""
