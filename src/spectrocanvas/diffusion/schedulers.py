"""Diffusers schedulers by short name, built from a model's ``scheduler_config``.

The composition sampler steps one scheduler for all members, so the scheduler is built from
one model's config (any member's: they must share the noise schedule, see
:func:`spectrocanvas.diffusion.sampler.check_shared_schedule`).
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from spectrocanvas.errors import SpectrocanvasError

if TYPE_CHECKING:  # diffusers is imported when a scheduler is built: it costs seconds of start-up
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

# name → (diffusers class name, settings that override the model's config)
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "ddim": ("DDIMScheduler", {}),
    "dpm++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler-a": ("EulerAncestralDiscreteScheduler", {}),
    "pndm": ("PNDMScheduler", {"skip_prk_steps": True}),
    "lms": ("LMSDiscreteScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
}

class UnknownSchedulerError(SpectrocanvasError):
    """A scheduler name that is not in :data:`SCHEDULERS`."""


class SchedulerOptionError(SpectrocanvasError):
    """An option (eta, generator) that the chosen scheduler cannot take."""


def make_scheduler(name: str, config: Mapping[str, Any], **overrides: Any) -> "SchedulerMixin":
    """Build scheduler ``name`` from a model's ``scheduler_config`` (plus ``overrides``).

    The config's noise schedule (betas, ``num_train_timesteps``, ``prediction_type``,
    ``steps_offset``…) is kept; only the solver changes.
    """
    key = name.strip().lower()
    if key not in SCHEDULERS:
        raise UnknownSchedulerError(
            f"unknown scheduler {name!r}; choose one of: {', '.join(SCHEDULERS)}")
    class_name, settings = SCHEDULERS[key]
    if key == "lms" and importlib.util.find_spec("scipy") is None:
        raise UnknownSchedulerError("the lms scheduler needs scipy, which is not installed")
    import diffusers  # importing diffusers costs seconds (it pulls in torch._dynamo): only where one is built

    cls = getattr(diffusers, class_name)
    return cls.from_config(dict(config), **{**settings, **overrides})


def step_kwargs(scheduler: "SchedulerMixin", *, eta: float = 0.0,
                generator: torch.Generator | None = None) -> dict[str, Any]:
    """Keyword arguments for ``scheduler.step`` that pass ``eta`` and ``generator`` where taken.

    ``eta`` other than 0 is refused by schedulers without an ``eta`` parameter (only DDIM has
    one). A generator is passed to schedulers that accept it and ignored by the others.
    """
    params = inspect.signature(scheduler.step).parameters
    kwargs: dict[str, Any] = {}
    if "eta" in params:
        kwargs["eta"] = eta
    elif eta != 0.0:
        raise SchedulerOptionError(
            f"eta={eta} needs the ddim scheduler; {type(scheduler).__name__} has no eta")
    if generator is not None and "generator" in params:
        kwargs["generator"] = generator
    return kwargs
