"""The UL FSRI 2018 compartment experiments (../shared/data/fsri2018): each quadrant's 25 mm
ceiling thermocouple, as a ceiling detector would see it."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

QUADRANTS = "ABCD"
BURNER = re.compile(r"\d+kW")
COLUMN = "Quadrant {} Temperature 25 mm Below Ceiling"


def data_dir() -> Path:
    """Beside the clone in CI and in this workplace; FIREWATCH_FSRI_DIR overrides."""
    env = os.environ.get("FIREWATCH_FSRI_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "shared" / "data" / "fsri2018", here / "data" / "fsri2018"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "the FSRI 2018 data was not found beside the clone (../shared/data/fsri2018); "
        "set FIREWATCH_FSRI_DIR to its folder"
    )


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    time_s: npt.NDArray[np.float64]  # relative to ignition
    ceiling_c: npt.NDArray[np.float64]  # (samples, 4): quadrants A..D, NaN where missing

    @property
    def family(self) -> str:
        """The fuel: ``100kW`` and ``250kW`` gas burners, ``RedAccent`` chairs (and, in the
        data kept aside, other burner sizes and sofas)."""
        return self.name.split("_", 1)[0]

    @property
    def slow(self) -> bool:
        """Furniture, not a gas burner: a fire that grows from a small flame."""
        return not BURNER.fullmatch(self.family)


def load(path: Path) -> Experiment:
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        columns = [header.index(COLUMN.format(q)) for q in QUADRANTS]
        times: list[float] = []
        values: list[list[float]] = []
        for row in reader:
            if not row or not row[0]:
                continue
            times.append(float(row[0]))
            values.append([float(row[c]) if row[c].strip() else np.nan for c in columns])
    return Experiment(path.stem, np.array(times), np.array(values, dtype=np.float64))


def experiments(folder: Path | None = None) -> list[Experiment]:
    folder = folder or data_dir()
    files = sorted(
        p
        for p in folder.glob("*.csv")
        if not p.stem.endswith("_Events") and p.stem != "channel_list"
    )
    return [load(p) for p in files]
