"""What defines the samples of one prompt pair: a composition of members (each model with its own
prompt, negative prompt, guidance, weight and active steps), the run's settings, and the
method's own settings.

The same settings have a flat form — one name per setting, as the command line spells them
(``image_guidance``, ``audio_weight``, ``steps``) — which the option schema
(:mod:`spectrocanvas.generate.options`), prompt-pair files and ``run.json`` share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from spectrocanvas.diffusion.schedulers import SCHEDULERS
from spectrocanvas.errors import SpectrocanvasError

MEMBER_KEYS = ("prompt", "negative", "guidance", "weight", "start", "end")
"""A member's settings; flat names are ``<member>_<key>`` (``image_prompt``, ``audio_weight``)."""
RUN_KEYS = ("seed", "steps", "scheduler", "crop_columns", "seconds", "loop", "window_stride", "init_audio",
            "init_image", "strength", "latent_height", "latent_width", "init_digest")
"""The run's settings that decide what sample i is (besides the members and the method)."""
MAX_SEED = 2 ** 63 - 1
"""Seeds are 64-bit (torch generators); sample i uses seed + i."""


def flag(name: str) -> str:
    """The command-line spelling of a flat setting name: ``image_guidance`` → ``--image-guidance``."""
    return "-n" if name == "n" else "--" + name.replace("_", "-")


@dataclass(frozen=True)
class MemberSettings:
    """One model's part in a composition.

    ``name`` prefixes the member's flat settings (``image`` → ``image_guidance``); ``role`` is the
    pair's model it runs (``image`` or ``audio``). A member with weight 0 takes no part. It is
    active at denoising steps ``start <= i < end`` (``end`` None: to the last step).
    """

    name: str
    role: str
    prompt: str
    negative: str = ""
    guidance: float = 10.0
    weight: float = 0.5
    start: int = 0
    end: int | None = None

    def options(self) -> dict[str, Any]:
        return {f"{self.name}_{key}": getattr(self, key) for key in MEMBER_KEYS}


@dataclass(frozen=True)
class GenerateSettings:
    """Everything that defines the samples of one prompt pair, as resolved for one model pair and method
    (build it with :func:`spectrocanvas.generate.options.resolve_settings`)."""

    members: tuple[MemberSettings, ...]
    method: str = "denoise"
    n: int = 1
    seed: int = 0
    steps: int = 50
    scheduler: str = "ddim"
    crop_columns: int = 0
    seconds: float | None = None
    """The canvas length asked for (None: the pair's own, or the recording's); latent_width follows it."""
    loop: bool = False
    window_stride: int | None = None
    """Latent columns between windows (None where the canvas is one window and no loop)."""
    init_audio: str | None = None
    init_image: str | None = None
    strength: float | None = None
    """How far the SDEdit start is noised (None without an init file)."""
    latent_height: int = 32
    latent_width: int = 128
    init_digest: str | None = None
    method_options: Mapping[str, Any] = field(default_factory=dict)
    """The method's own settings (imprint's ``image_steps``, SDS's ``sds_iterations`` …), resolved."""

    # ---- reading -------------------------------------------------------------------------------------
    def member(self, name: str) -> MemberSettings:
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(name)

    def prompts(self) -> dict[str, str]:
        """role → prompt (the first member of each role): what a sample is scored against."""
        prompts: dict[str, str] = {}
        for member in self.members:
            prompts.setdefault(member.role, member.prompt)
        return prompts

    def options(self) -> dict[str, Any]:
        """The flat form: every setting under the name the command line gives it."""
        flat: dict[str, Any] = {"n": self.n, **{key: getattr(self, key) for key in RUN_KEYS}}
        for member in self.members:
            flat.update(member.options())
        return {**flat, **self.method_options, "method": self.method}

    def identity(self) -> dict[str, Any]:
        """The settings that decide what sample i is (the flat form without n)."""
        return {k: v for k, v in self.options().items() if k != "n"}

    def sampling_key(self) -> tuple:
        """What samples must share to be drawn in one batch: everything but prompts, seeds and n."""
        members = tuple((m.name, m.role, m.guidance, m.weight, m.start, m.end) for m in self.members)
        return (members, self.method, *(getattr(self, key) for key in RUN_KEYS if key != "seed"),
                tuple(sorted(self.method_options.items())))

    @property
    def first_step(self) -> int:
        """The step denoising starts at: 0, or with an init file steps − round(steps × strength) (SDEdit)."""
        if self.strength is None or not (self.init_audio or self.init_image):
            return 0
        return self.steps - int(round(self.steps * self.strength))

    def with_(self, **changes: Any) -> "GenerateSettings":
        return replace(self, **changes)

    def with_members(self, **changes: dict[str, Any]) -> "GenerateSettings":
        """Change members by name: ``with_members(audio={"weight": 0.0})``."""
        unknown = set(changes) - {m.name for m in self.members}
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        return replace(self, members=tuple(replace(m, **changes.get(m.name, {})) for m in self.members))

    # ---- checking -------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Refuse settings a user can get wrong, each in one line naming its option."""
        problems = []
        if not 1 <= self.steps <= 1000:  # first: the members' step ranges are checked against it
            problems.append(f"--steps must be between 1 and 1000, not {self.steps}")
        starts_from = {"audio": bool(self.init_audio), "image": bool(self.init_image)}
        for member in self.members:
            problems += _member_problems(member, self.steps, may_be_silent=starts_from.get(member.role, False))
        if not 1 <= self.n <= 100_000:
            problems.append(f"-n must be between 1 and 100000, not {self.n}")
        if not 0 <= self.seed <= MAX_SEED - self.n:
            problems.append(f"--seed must be between 0 and {MAX_SEED - self.n} (2^63 - 1 - n), not {self.seed}")
        if self.scheduler.strip().lower() not in SCHEDULERS:
            problems.append(f"unknown scheduler {self.scheduler!r}; choose one of: {', '.join(SCHEDULERS)}")
        if self.crop_columns < 0 or self.latent_height < 1 or self.latent_width < 1:
            problems.append("latent size must be positive and the crop non-negative")
        if self.strength is not None and not (math.isfinite(self.strength) and 0.0 <= self.strength <= 1.0):
            problems.append(f"--strength must be between 0 and 1, not {self.strength:g}")
        if self.init_audio and self.init_image:
            problems.append("give --init-audio or --init-image, not both")
        if problems:
            raise SpectrocanvasError(problems[0])
        active = [m for m in self.members if m.weight > 0]
        if not active:
            raise SpectrocanvasError("every model has weight 0: give at least one a positive weight")
        if min(m.start for m in active) != 0:
            raise SpectrocanvasError("some model must denoise from the first step: set one of "
                                     + ", ".join(flag(f"{m.name}_start") for m in active) + " to 0")
        idle = [i for i in range(self.first_step, self.steps)
                if not any(m.start <= i < (m.end or self.steps) for m in active)]
        if idle:
            ranges = " and ".join(f"{flag(m.name + '_start')}/{flag(m.name + '_end')}" for m in active)
            raise SpectrocanvasError(f"no model denoises step {idle[0]} of {self.steps}: check {ranges}")


def _member_problems(member: MemberSettings, steps: int, *, may_be_silent: bool = False) -> list[str]:
    """``may_be_silent``: an empty prompt is allowed (the run starts from this role's input, and the
    model then follows it unconditioned)."""
    name = member.name
    problems = []
    if not member.prompt.strip() and not may_be_silent:
        says = "what the picture should show" if member.role == "image" else "what the sound should be"
        problems.append(f"{flag(name + '_prompt')} is empty; say {says}")
    if not math.isfinite(member.guidance):
        problems.append(f"{flag(name + '_guidance')} must be a finite number, not {member.guidance}")
    if not (math.isfinite(member.weight) and 0.0 <= member.weight <= 1.0):
        problems.append(f"{flag(name + '_weight')} must be between 0 and 1, not {member.weight:g}")
    if not 0 <= member.start < steps:
        problems.append(f"{flag(name + '_start')} must be a step index in 0 … {steps - 1}, not {member.start}")
    if member.end is not None and not member.start < member.end <= steps:
        problems.append(f"{flag(name + '_end')} must be a step after {flag(name + '_start')} and at most "
                        f"--steps ({steps}), not {member.end}")
    return problems


def share_rest(weights: Mapping[str, float | None]) -> dict[str, float]:
    """Weights with the unset ones (None) sharing equally what the set ones leave of 1 (never below 0).

    With two models, ``--audio-weight 0.25`` alone gives the image model 0.75. Rounded to 10
    decimals, so 1 − 0.7 is 0.3.
    """
    given = sum(w for w in weights.values() if w is not None)
    unset = [k for k, w in weights.items() if w is None]
    if not math.isfinite(given):  # nothing to share: the weight given is refused in its own name
        given = 1.0
    rest = round(max(0.0, 1.0 - given) / len(unset), 10) if unset else 0.0
    return {k: (rest if w is None else w) for k, w in weights.items()}
