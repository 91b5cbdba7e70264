"""``kmemsim quiz`` and the exercises behind it: the same seed gives the same text, -c
prints the answers, and each answer is what the model does (checked here by running the
scenario again, or by the textbook rule the question teaches)."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import kmemsim
from kmemsim.cli.main import main
from kmemsim.explore import exercises as ex
from kmemsim.explore import state

PROFILES = sorted(kmemsim.PROFILES)


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), **kw)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_same_seed_gives_the_same_quiz(profile):
    a = run("quiz", "--seed", "1", "--profile", profile)
    b = run("quiz", "--seed", "1", "--profile", profile)
    assert a.exit_code == 0, a.output
    assert a.output == b.output
    assert a.output.startswith(f"kmemsim quiz --seed 1 ({profile}): 6 questions; -c shows the answers")
    assert [f"Q{i}." for i in range(1, 7)] == re.findall(r"^(Q\d+\.)", a.output, re.M)
    assert "Answer:" not in a.output
    other = run("quiz", "--seed", "2", "--profile", profile)
    assert other.output != a.output


@pytest.mark.parametrize("profile", PROFILES)
def test_c_prints_the_answers_under_the_same_questions(profile):
    q = run("quiz", "--seed", "1", "--profile", profile).output
    c = run("quiz", "--seed", "1", "--profile", profile, "-c")
    assert c.exit_code == 0
    assert c.output.count("    Answer: ") == 6
    questions = [line for line in q.splitlines()[1:] if line]
    assert all(line in c.output.splitlines() for line in questions)


def test_every_topic_in_turn_and_topics_chosen():
    out = run("quiz", "--seed", "5", "-n", "4").output
    assert re.findall(r"^Q\d+\. \[(\w+)\]", out, re.M) == ["addresses", "buddy", "slab", "gfp"]
    out = run("quiz", "--seed", "5", "-n", "3", "--topic", "slab").output
    assert re.findall(r"^Q\d+\. \[(\w+)\]", out, re.M) == ["slab"] * 3


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("profile", PROFILES)
def test_the_answers_are_the_models(profile, seed):
    for q in ex.quiz(seed, profile, n=4):
        assert q.check(q.shown_answer()).correct
        assert q.reveal().message.startswith(f"Answer: {q.shown_answer()}")
        if q.kind == "ints":  # buddyinfo: the textbook buddy allocator agrees, step by step
            k = kmemsim.boot(profile)
            zone = re.search(r"Zone (\w+) before", q.question).group(1)
            z = next(z for z in k.page_alloc.zones if z.name == zone)
            start = {p: o for p, (o, _mt) in state.free_blocks(z).items()}
            assert ex._pure_buddy(start, q.trace, z.max_order) == q.answer


def test_address_answers_follow_the_formulas():
    k = kmemsim.boot("linux-2.6-i386", ram="160M")
    q = ex.pa_of(k, 0xC0123456)
    assert q.answer == 0x123456 and q.check("0x123456") and not q.check(0x123457)
    assert ex.va_of(k, 0x100000).answer == 0xC0100000
    assert ex.layout_boundary(k, "vmalloc_start").answer == 0xCA800000
    k = kmemsim.boot("linux-2.6-i386", ram="1G")
    q = ex.zone_of_phys(k, 0x38001000)
    assert q.answer == "HighMem" and q.check("c") and q.check("highmem") and "kmap" in q.explanation
    assert ex.buddy_of(k, 0x2B240, 6).answer == 0x2B200


def test_buddyinfo_after_is_what_the_kernel_shows():
    k = kmemsim.boot()
    q = ex.buddyinfo_after(k, "DMA", [("alloc", 4), ("alloc", 4), ("free", 0)])
    line = next(line for line in k.proc("buddyinfo").splitlines() if "DMA " in line)
    assert q.answer == [int(x) for x in line.split()[4:]]
    assert q.check(line)  # the whole line is an answer too
    assert q.check(" ".join(map(str, q.answer))) and q.check(q.answer)
    assert not q.check([0] * 11)
    with pytest.raises(kmemsim.UsageError, match="per-CPU lists"):
        ex.buddyinfo_after(kmemsim.boot(), "DMA", [("alloc", 0)])
    with pytest.raises(kmemsim.UsageError, match="no zone 'Normal'"):
        ex.buddyinfo_after(kmemsim.boot(), "Normal", [("alloc", 4)])


def test_slab_and_gfp_answers_come_from_running_them():
    k = kmemsim.boot()
    q = ex.cache_geometry(k, 72, 0, ["SLAB_HWCACHE_ALIGN"], "stride")
    c = k.kmem_cache_create("again", 72, 0, k.slab_flags.SLAB_HWCACHE_ALIGN)
    assert q.answer == c.size == 128
    assert ex.kmalloc_class(k, 100).answer == k.ksize(k.kmalloc(100, k.gfp.GFP_KERNEL)) == 128
    assert ex.may_sleep(k, "GFP_KERNEL").answer is True and ex.may_sleep(k, "GFP_ATOMIC").answer is False
    m = ex.Machines()
    assert ex.in_context(m, "an interrupt handler (hardirq)", "GFP_KERNEL").answer.startswith("BUG: sleeping")
    assert ex.in_context(m, "an interrupt handler (hardirq)", "GFP_ATOMIC").answer == "it allocates, silently"
    assert ex.in_context(m, "process context", "GFP_KERNEL").answer == "it allocates, silently"
    assert ex.below_min(m, "GFP_ATOMIC").answer is True
    assert ex.below_min(m, "GFP_NOWAIT").answer is False


def test_a_wrong_kind_of_answer_is_a_usage_error():
    q = ex.pa_of(kmemsim.boot(), 0xFFFF888000123000)
    with pytest.raises(kmemsim.UsageError, match="not an answer"):
        q.check("twelve")
    html = q.check("0x123000")._repr_html_()
    assert "Right" in html and "#1a7f37" in html


def test_ask_reads_answers_and_checks_them():
    qs = ex.quiz(3, n=2)
    answers = [qs[0].shown_answer(), "nonsense", ""]
    res = run("quiz", "--seed", "3", "-n", "2", "--ask", input="\n".join(answers) + "\n")
    assert res.exit_code == 0, res.output
    assert "Right:" in res.output and "is not an answer" in res.output
    assert res.output.rstrip().endswith("1 of 2 right.")


@pytest.mark.parametrize("args,message", [
    (["--profile", "linux-9-arm"], "linux-9-arm"),
    (["--ram", "1Q"], "1Q"),
    (["-n", "0"], "--count"),
    (["--topic", "nonsense"], "nonsense"),
    (["--seed", "x"], "x"),
])
def test_quiz_bad_input(args, message):
    res = run("quiz", *args)
    assert res.exit_code in (1, 2) and message in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("profile,ram,seeds", [("linux-2.6-i386", "160M", range(8)),
                                               ("linux-6.18-x86_64", "128M", range(3))])
def test_small_machines_get_whole_quizzes(profile, ram, seeds):
    for seed in seeds:
        for q in ex.quiz(seed, profile, n=6, ram=ram):
            assert q.check(q.shown_answer()).correct, q.text()
