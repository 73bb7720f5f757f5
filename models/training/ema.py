"""A running average of a detector's weights (train.py --ema), the copy that gets exported.

The weights at the last step of a run carry that step's noise: batches of 16 scans, each with a handful
of threats, pull the heads back and forth. An exponential moving average over the last few hundred
steps smooths that out at the cost of one more copy of the network and no extra forward pass. The
BatchNorm statistics are averaged the same way, so the copy is consistent with itself.

The average ramps in: at update u its decay is decay * (1 - exp(-u / ramp)), so the first steps of a
run, above all a resumed one, do not drag the average back towards where the run started.

Measured on two resumed runs under train.py's cosine schedule, the average scored no better than the
last step (drugs: mAP50 0.758 against 0.764; prohibited: the same), since the learning rate is nearly
zero by then anyway; docs/models.md has the figures. It may pay on a schedule that ends higher.
"""
import copy
import math

import torch


def parse_decay(text):
    """--ema's value: a decay strictly between 0 and 1 (0.998 averages over about 500 steps)."""
    try:
        decay = float(text)
    except ValueError:
        raise SystemExit(f"--ema {text!r}: not a number; give a decay such as 0.998") from None
    if not 0 < decay < 1:
        raise SystemExit(f"--ema {text}: the decay must be above 0 and below 1, e.g. 0.998")
    return decay


class Ema:
    def __init__(self, net, decay, ramp=200):
        self.shadow = copy.deepcopy(net).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.ramp = ramp
        self.updates = 0

    def rate(self):
        """The decay the next update uses."""
        return self.decay * (1 - math.exp(-(self.updates + 1) / self.ramp))

    @torch.no_grad()
    def update(self, net):
        d = self.rate()
        self.updates += 1
        live = net.state_dict()
        for name, value in self.shadow.state_dict().items():
            src = live[name].detach()
            if value.dtype.is_floating_point:
                value.mul_(d).add_(src, alpha=1 - d)
            else:
                # BatchNorm's num_batches_tracked counts steps; an average of a count means nothing.
                value.copy_(src)

    def describe(self):
        return f"weights averaged (EMA) with decay {self.decay}, ramped in over {self.ramp} steps"
