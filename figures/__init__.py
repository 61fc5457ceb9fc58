"""The paper's figures: one module ``figNN_<topic>.py`` per figure (see :mod:`figures.registry`),
the shared style (:mod:`figures.style`) and the generated PDF/PNG files in ``figures/out/``."""
