r"""Figure 9 — parity of ``lab.torch.InexactMuon`` with the real ``torch.optim.Muon`` (float64).

Relative parameter difference max_W ‖W_lab − W_torch‖_F/‖W_torch‖_F after each of 50 steps, for
nesterov on/off × weight decay 0/0.1 × lr adjustment "original"/"match_rms_adamw" (torch's bfloat16
cast replaced by a copy, :mod:`lab.torch.parity`), against the 1e-12 tolerance of the test; dashed: the
lab's default input scaling G/(‖G‖_F + eps) in place of torch's G/max(‖G‖_F, eps).

Built by ``make real`` / ``lab figures --real`` (needs the ``[torch]`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import style
from figures.registry import script_main

NAME = "fig09_torch_parity"
CAPTION = (
    r"Parity with torch.optim.Muon in float64: relative parameter difference against step for 8 "
    r"configurations (nesterov, weight decay, lr adjustment), the $10^{-12}$ tolerance, and the "
    r"$\|G\|_F+\varepsilon$ scaling (dashed)."
)
REAL = True


def make(out_dir, *, quick: bool = False) -> list[Path]:
    import torch  # lazy: optional heavy dependency (the [torch] extra)

    from lab.torch.parity import PARITY_CONFIGS, parity_run  # lazy: imports torch

    torch.set_num_threads(1)
    steps = 10 if quick else 50
    configs = PARITY_CONFIGS[:2] if quick else PARITY_CONFIGS
    with style.context():
        fig, ax = style.figure("single", aspect=0.7)
        t = np.arange(1, steps + 1)
        floor = np.finfo(np.float64).eps / 4  # an exact match would vanish on the log axis
        for i, c in enumerate(configs):
            d = parity_run(**c, steps=steps)
            label = f"nest={'on' if c['nesterov'] else 'off'}, wd={c['weight_decay']:g}, {c['adjust_lr_fn']}"
            ax.semilogy(
                t,
                np.maximum(d, floor),
                color=style._PALETTE[i % len(style._PALETTE)],
                lw=0.8,
                label=f"{label} (max {d.max():.1e})",
            )
        d = parity_run(**configs[0], steps=steps, oracle="ns:jordan:5")
        ax.semilogy(t, d, "k--", lw=0.8, label=r"lab default $G/(\|G\|_F+\varepsilon)$")
        ax.axhline(1e-12, color="0.4", lw=0.7, ls=":", label="tolerance $10^{-12}$")
        ax.set_xlabel("step")
        ax.set_ylabel(r"$\max_W \|W_{\rm lab}-W_{\rm torch}\|_F/\|W_{\rm torch}\|_F$")
        ax.legend(fontsize=4.5, ncol=1, loc="center right")
        return style.save(fig, Path(out_dir) / NAME)


if __name__ == "__main__":
    raise SystemExit(script_main(__name__))
