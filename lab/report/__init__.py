r"""The LaTeX appendix: theorems, verdicts and figures in one document.

:func:`lab.report.build.build_appendix` writes ``build/appendix/``::

    appendix.tex            the template; \input's everything below (edit lab/report/, not it)
    preamble.tex            the packages and macros the fragments need (for a paper's preamble)
    theorems/<id>.tex       one fragment per theorem of ``bounds.CATALOG``, with its check results
    tables/summary.tex      one line per claim: source, verdict, tightness, slope with its CI
    tables/verdicts.tex     booktabs table of the ``lab check`` verdicts (short problem names)
    tables/slopes.tex       booktabs table of the fitted slopes against the predicted exponents
    tables/ledger.tex       the claims ledger: every claim, its experiment and its verdict
    tables/problems.tex     the legend of the short problem names
    figures/figures.tex     one figure environment per figure of ``figures/out/``
    figures/<name>.pdf      copies of the figures (so the folder is self-contained)
    appendix.pdf            when latexmk (or pdflatex) is installed

Formulas are LaTeX throughout: bounds and conditions by ``sympy.latex`` with the symbols named as
in the papers (``bounds.symbols.latex``), text fields from a theorem's stored LaTeX
(``Theorem.tex``) or else typeset from their plain text (:func:`lab.report.formulas.prose_tex`:
``||E|| <= delta`` becomes ``$\|E\| \le \delta$``).  A fragment refers to figures and tables through
``\labref``/``\lablink``, which fall back to plain text in a paper without those labels.

:func:`lab.report.latex_check.check_latex` checks the result without TeX: braces and environments
balance, ``$`` pairs up, every ``\input`` and ``\includegraphics`` target exists.

Verdicts file (``build/check/verdicts.json``, written by ``lab check``)
-------------------------------------------------------------------
The document of :mod:`lab.verdicts` (schema ``muon-lab.verdicts/2``: provenance, summary and
typed rows; the first schema is read too).  :func:`lab.verdicts.load_legacy_rows` hands the tables
rows in the first schema's shape (:func:`lab.verdicts.legacy_row`): ``bound``/``measured`` a number or the
formula text, ``details`` JSON text.  Rows with a ``slope`` also go to the slopes table, where
``bound`` is the predicted exponent.  No file: the tables say "not run yet".

Modules
-------
``tex`` (escapes, numbers, labels), ``formulas`` (ASCII formulas as LaTeX), ``theorems`` (one
fragment per theorem), ``tables`` (the verdict tables), ``template`` (packages, macros, sections,
figures, the main document), ``build`` (writes it all; the PDF), ``latex_check`` (sanity without
TeX), ``paths`` (default locations).  :mod:`lab.appendix` re-exports the public names.

Layers
------
The report sits on top of the application, beside the CLI (:mod:`lab.cli`, :mod:`lab.commands`)
and the bench (:mod:`lab.bench`)::

    lab.cli, lab.commands, lab.report, lab.bench, lab.verdict_plot     (top: reads everything below)
    figures                                                            (reads the claims)
    lab.checks, lab.experiments, bounds, lab.verdicts, ...             (claims and their records)
    lab engine (backend, optimizers, runner, sweeps, cache, stats), problems

Imports go downwards only: nothing below the top imports the report, the CLI, the bench or
figures (``tests/test_layers_top.py`` holds this).
"""
