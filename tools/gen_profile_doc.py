#!/usr/bin/env python3
"""Regenerate docs/profiles.md from the profile and tunable tables (tests/test_docs.py checks it)."""
from pathlib import Path

import kmemsim
from kmemsim.features import feature_table
from kmemsim.profiles import tunable_table

rows = [
    "| profile | aliases | kernel | arch | default RAM | default CPUs | NR_CPUS | HZ | what it is |",
    "|---|---|---|---|---|---|---|---|---|",
]
for p in kmemsim.PROFILES.values():
    aliases = ", ".join(f"`{a}`" for a in p.aliases) or "-"
    rows.append(
        f"| `{p.name}` | {aliases} | {p.kernel_version} | {p.arch} | {p.default_ram} | {p.default_cpus} | "
        f"{p.nr_cpus} | {p.hz} | {p.description} |"
    )
nl = "\n"
text = f"""# Profiles and tunables

A profile is a kernel build on an architecture; `kmemsim.boot(profile, ram=..., cpus=..., **tunables)`
boots one.  `boot()` also takes `seed` (all randomness) and `on_bug` (`"raise"` or `"report"`).
An alias boots the same profile under an older name (the machine then names its profile by
its own name, `k.profile.name`); the tables below list profiles only.  What each profile
models and leaves out: `docs/kernels.md`.

{nl.join(rows)}

## Tunables

Every knob of every profile, under its kernel name (`kmemsim profiles` prints the same table;
`tests/test_docs.py` checks that this file is up to date: regenerate it with
`.venv/bin/python tools/gen_profile_doc.py`).  Kinds: `boot` is a kernel command-line
parameter, `sysctl` a /proc/sys value, `config` a Kconfig choice, `model` a choice of kmemsim itself.

<!-- tunable-table -->
{tunable_table()}
<!-- /tunable-table -->

## Features

Where kernels differ, the model asks for a named feature (`k.features.<name>`, from the table
`kmemsim.features.FEATURES`), never for a version number.  Each feature names the release
that brought it (and the one that took it away), and the commit or source the model follows.
`kmemsim features` prints the same table; `kmemsim features --profile P` one profile's.

<!-- feature-table -->
{feature_table([(p.name, p.kernel_version) for p in kmemsim.PROFILES.values()])}
<!-- /feature-table -->
"""
Path(__file__).resolve().parent.parent.joinpath("docs", "profiles.md").write_text(text)
