"""The one schema of generation settings: every setting's flat name, type, check, help and
command-line spelling. The CLI options, the prompt-pair file columns and the identity stored in
``run.json`` are all made from it (:func:`option_table`); member settings exist once per role of
the pair (``image_guidance``, ``audio_guidance``); each method adds its own (see
:mod:`spectrocanvas.generate.methods`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from spectrocanvas.diffusion.schedulers import SCHEDULERS
from spectrocanvas.generate.settings import flag
from spectrocanvas.pairs.interface import ROLES


def boolean(value: Any) -> bool:
    """true/false from JSON, or from text ("true", "1", "yes" / "false", "0", "no", any case)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"not true or false: {value!r}")


WHAT = {"image": ("image model", "what the picture shows"), "audio": ("audio model", "what the sound is")}
"""Per role: how help texts name the model, and what its prompt says."""


@dataclass(frozen=True)
class Option:
    """One setting as the schema defines it.

    ``key`` is the flat name for run and method settings, and the key inside a member for member
    settings (the flat name is then ``<role>_<key>``). ``help`` may use ``{model}`` and
    ``{says}`` (see :data:`WHAT`). ``const``: the option is a command-line switch that sets this value
    (``--no-crop`` sets ``crop_columns`` to 0), spelled ``flags[0]``.
    """

    key: str
    parse: Callable[[str], Any]
    help: str
    default: Any = None
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    public: bool = True
    """A command-line option and a prompt-pair file column (else set through the library only)."""
    const: Any = None


RUN_OPTIONS: tuple[Option, ...] = (
    Option("n", int, "samples per prompt pair", default=1, flags=("-n",), metavar="N"),
    Option("seed", int, "sample i uses seed + i", default=0, metavar="SEED"),
    Option("steps", int, "denoising steps", metavar="N"),
    Option("scheduler", str, "one of " + ", ".join(SCHEDULERS) + " (dpm++ needs fewer steps)", default="ddim",
           metavar="NAME"),
    Option("crop_columns", int, "keep the last pixel columns (the silent tail of Auffusion's clips)",
           flags=("--no-crop",), const=0),
    Option("seconds", float, "length of the canvas: longer than the models' own is drawn in overlapping windows "
                             "(unset: the pair's own length; with --init-audio, the recording's)", metavar="S"),
    Option("loop", boolean, "make a loop: the windows wrap around the end, so the last column continues into "
                            "the first and the sound loops without a click", default=False, flags=("--loop",),
           const=True),
    Option("window_stride", int, "latent columns from one window to the next on a longer canvas or a loop "
                                 "(unset: half a window)", metavar="N"),
    Option("init_audio", str, "start from a recording (SDEdit): its canvas, in the pair's convention, noised to "
                              "--strength and denoised with the prompts", metavar="FILE"),
    Option("init_image", str, "start from a picture instead (SDEdit through the image model's encoder)",
           metavar="FILE"),
    Option("strength", float, "with --init-audio/--init-image: 0 keeps the input as it is, 1 starts from noise "
                              "(plain generation)", metavar="S"),
    Option("latent_height", int, "latent rows", public=False),
    Option("latent_width", int, "latent columns", public=False),
    Option("init_digest", str, "SHA-256 of the init file (a changed file is another run)", public=False),
)

MEMBER_OPTIONS: tuple[Option, ...] = (
    Option("prompt", str, "{says}", metavar="TEXT"),
    Option("negative", str, "negative prompt of the {model}", default="", metavar="TEXT"),
    Option("guidance", float, "classifier-free guidance scale of the {model}", metavar="G"),
    Option("weight", float, "the {model}'s share of the composed noise estimate, 0 … 1 (unset shares split "
                            "what the set ones leave of 1)", metavar="W"),
    Option("start", int, "step at which the {model} joins", default=0, metavar="STEP"),
    Option("end", int, "step at which the {model} leaves (unset: it stays to the last step)", metavar="STEP"),
)


@dataclass(frozen=True)
class Setting:
    """A flat setting of one schema: its name, its option, and the role it belongs to (None for run
    and method settings) or the method that owns it."""

    name: str
    option: Option
    role: str | None = None
    method: str | None = None

    @property
    def flags(self) -> tuple[str, ...]:
        return self.option.flags or (flag(self.name),)

    def help(self) -> str:
        model, says = WHAT.get(self.role or "", ("model", ""))
        return self.option.help.format(model=model, says=says)

    def parse(self, value: Any) -> Any:
        """A value from text (a CSV cell) or JSON; one line naming the setting when it is not one."""
        if value is None or (isinstance(value, bool) and self.option.parse is not boolean):
            raise ValueError(f"{self.name} must be {_kind(self.option.parse)}, not {value!r}")
        if self.option.parse is str:
            return str(value)
        if self.option.parse is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{self.name} must be a whole number, not {value!r}")
        try:
            parsed = self.option.parse(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{self.name} must be {_kind(self.option.parse)}, not {value!r}") from None
        if isinstance(parsed, float) and not math.isfinite(parsed):
            raise ValueError(f"{self.name} must be a finite number, not {value!r}")
        return parsed


def _kind(parse: Callable[[str], Any]) -> str:
    return {int: "a whole number", float: "a number", boolean: "true or false"}.get(parse, "text")


def option_table(methods: Sequence[tuple[str, Sequence[Option]]], roles: Sequence[str] = ROLES) -> dict[str, Setting]:
    """Every flat setting by name: run settings, member settings per role, then each method's own."""
    table = {o.key: Setting(o.key, o) for o in RUN_OPTIONS}
    for role in roles:
        table.update({f"{role}_{o.key}": Setting(f"{role}_{o.key}", o, role=role) for o in MEMBER_OPTIONS})
    for method, options in methods:
        for option in options:
            table.setdefault(option.key, Setting(option.key, option, method=method))
    return table
