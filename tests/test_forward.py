"""kernel.forward(): the declared API methods are generated on first use, not at import,
and are then the same functions an eager generation gives."""
from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import kmemsim
from kmemsim import kernel as kmod

SRC = Path(kmod.__file__).resolve().parents[1]


def _forwards() -> list[str]:
    return [n for n, v in vars(kmod.Kernel).items() if isinstance(v, kmod._Forward)
            or getattr(v, "__kmemsim_source__", None)]


def test_every_forward_generates_and_replaces_its_declaration():
    names = _forwards()
    assert len(names) > 200
    for name in names:
        fn = getattr(kmod.Kernel, name)
        assert inspect.isfunction(fn), name
        assert vars(kmod.Kernel)[name] is fn  # the declaration is gone: later look-ups cost nothing
        assert getattr(kmod.Kernel, name) is fn
        assert fn.__name__ == name and fn.__qualname__ == f"Kernel.{name}"
        assert fn.__module__ == "kmemsim.kernel"
        assert fn.__kmemsim_source__.startswith(f"def {name}(self")
        assert fn.__code__.co_filename == kmod.__file__


def test_a_forward_has_its_target_s_signature_and_doc():
    from kmemsim.mm.vmalloc import Vmalloc

    fn = kmod.Kernel.vmalloc
    target = list(inspect.signature(Vmalloc.vmalloc).parameters.values())[1:]
    assert list(inspect.signature(fn).parameters.values())[1:] == target
    assert fn.__doc__ == Vmalloc.vmalloc.__doc__


def test_a_forward_named_apart_from_its_target():
    assert kmod.Kernel.queue_work.__kmemsim_source__.startswith("def queue_work(self")
    assert "self.sched.queue_work_on_wq(" in kmod.Kernel.queue_work.__kmemsim_source__


def test_a_forward_declared_under_another_name_is_refused():
    from kmemsim.mm.vmalloc import Vmalloc

    with pytest.raises((TypeError, RuntimeError)) as e:
        type("K", (), {"other": kmod.forward("vmalloc_impl", Vmalloc.vmalloc)})
    assert "forward 'vmalloc' declared as 'other'" in f"{e.value} {e.value.__cause__}"


def test_calls_and_wrong_calls_through_a_fresh_machine():
    k = kmemsim.boot()
    p = k.kmalloc(100, kmemsim.gfp.GFP_KERNEL)
    assert k.ksize(p) == 128
    k.kfree(p)
    with pytest.raises(TypeError, match=r"kzalloc\(\) missing 1 required positional argument"):
        k.kzalloc(8)  # type: ignore[call-arg]
    with pytest.raises(kmemsim.UsageError, match="kmalloc: size"):
        k.kmalloc(-1, kmemsim.gfp.GFP_KERNEL)


def test_importing_the_kernel_compiles_no_forward_and_a_replay_few():
    code = (
        "import kmemsim.kernel as K\n"
        "def lazy(): return sum(isinstance(v, K._Forward) for v in vars(K.Kernel).values())\n"
        "n = lazy()\n"
        "from kmemsim.trace.replay import boot_machine\n"
        "k = boot_machine()\n"
        "print(n, n - lazy())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC), "PATH": ""}).stdout.split()
    declared, made = int(out[0]), int(out[1])
    assert declared > 200
    assert made < 30
